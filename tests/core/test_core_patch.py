"""State-patch engine: reference-compatible paths, RFC 6901 escapes, purity, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openintent.core.patch import (
    PATCH_OPS,
    apply_patches,
    join_path,
    normalize_patch,
    read_path,
    split_path,
)
from openintent.exceptions import ValidationError
from openintent.models.intents import PatchOp, StatePatch, StatePatchRequest

# -- strategies -------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)
# Any non-empty key, "/" and "~" included: join_path escapes them.
segments = st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5)
ops = st.sampled_from(["set", "append", "remove", "replace", "", "SET"])
raw_paths = st.text(alphabet="ab0-~/1", max_size=8)
patch_dicts = st.fixed_dictionaries({"op": ops, "path": raw_paths, "value": json_values})


def _set(path: str, value: Any) -> StatePatch:
    return StatePatch(op=PatchOp.SET, path=path, value=value)


def _append(path: str, value: Any) -> StatePatch:
    return StatePatch(op=PatchOp.APPEND, path=path, value=value)


def _remove(path: str) -> StatePatch:
    return StatePatch(op=PatchOp.REMOVE, path=path)


# -- properties -------------------------------------------------------------------------


@given(json_objects, segments, json_values)
def test_set_then_read_returns_the_value_at_any_depth(
    state: dict[str, Any], segs: list[str], value: Any
) -> None:
    state.pop(segs[0], None)  # the path is then free: every intermediate gets created
    path = join_path(segs)
    result = apply_patches(state, [_set(path, value)])
    assert read_path(result, path) == value
    assert {k: v for k, v in result.items() if k != segs[0]} == state


@given(segments, json_values, json_objects)
def test_set_inside_existing_nested_objects_keeps_siblings(
    segs: list[str], value: Any, siblings: dict[str, Any]
) -> None:
    # The reference loses in-place changes to existing nested objects; we must not.
    state: dict[str, Any] = {}
    node = state
    for seg in segs[:-1]:
        node[seg] = {**{k: v for k, v in siblings.items() if k != seg}}
        node = node[seg]
    node.update({k: v for k, v in siblings.items() if k != segs[-1]})
    result = apply_patches(state, [_set(join_path(segs), value)])
    assert read_path(result, join_path(segs)) == value
    parent = read_path(result, join_path(segs[:-1]))
    for key, sibling in siblings.items():
        if key != segs[-1] and key not in segs[:-1]:
            assert parent[key] == sibling


@given(json_objects, segments)
def test_remove_of_an_absent_path_raises(state: dict[str, Any], segs: list[str]) -> None:
    state.pop(segs[0], None)
    with pytest.raises(ValidationError, match="patch 0"):
        apply_patches(state, [_remove(join_path(segs))])


@given(json_objects, st.lists(patch_dicts, max_size=6))
def test_input_is_never_mutated(state: dict[str, Any], patches: list[dict[str, Any]]) -> None:
    state_before = copy.deepcopy(state)
    patches_before = copy.deepcopy(patches)
    try:
        result = apply_patches(state, patches)
    except ValidationError:
        pass
    else:
        _assert_no_shared_containers(result, state)
    assert state == state_before
    assert patches == patches_before


@given(json_objects, segments, json_values, json_values)
def test_append_then_read_ends_with_the_value(
    state: dict[str, Any], segs: list[str], first: Any, second: Any
) -> None:
    state.pop(segs[0], None)
    path = join_path(segs)
    result = apply_patches(state, [_append(path, first), _append(path, second)])
    assert read_path(result, path) == [first, second]


@given(json_objects)
def test_empty_patch_list_returns_an_equal_but_distinct_dict(state: dict[str, Any]) -> None:
    result = apply_patches(state, [])
    assert result == state
    assert result is not state
    _assert_no_shared_containers(result, state)


@given(segments)
def test_split_path_inverts_join_path(segs: list[str]) -> None:
    assert split_path(join_path(segs)) == tuple(segs)


def _assert_no_shared_containers(left: Any, right: Any) -> None:
    seen = {id(c) for c in _containers(right)}
    assert not any(id(c) in seen for c in _containers(left))


def _containers(value: Any) -> list[Any]:
    found: list[Any] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            found.append(item)
            stack.extend(item)
    return found


# -- paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["a/b", "/a/b", "a//b", "//a/b/", "a/b/"])
def test_slash_forms_are_equivalent(path: str) -> None:
    assert apply_patches({}, [_set(path, 1)]) == {"a": {"b": 1}}


def test_json_pointer_escapes() -> None:
    result = apply_patches({}, [_set("/a~1b/c~0d", 1), _set("/x~01", 2)])
    assert result == {"a/b": {"c~d": 1}, "x~1": 2}
    assert join_path(["a/b", "c~d"]) == "/a~1b/c~0d"


def test_other_tildes_stay_literal_like_the_reference() -> None:
    assert apply_patches({}, [_set("v~2", 1), _set("~", 2)]) == {"v~2": 1, "~": 2}


def test_numeric_segments_are_keys_in_objects() -> None:
    result = apply_patches({"a": {"0": "x"}}, [_set("a/0", "y"), _set("b/1", "z")])
    assert result == {"a": {"0": "y"}, "b": {"1": "z"}}


def test_dash_is_a_key_in_objects() -> None:
    assert apply_patches({}, [_set("a/-", 1)]) == {"a": {"-": 1}}


# -- set --------------------------------------------------------------------------------


def test_reference_lost_writes_are_kept() -> None:
    # The three in-place cases the reference drops (rfc-0001 "Reference bug").
    state = {"a": {"x": 1, "keep": True}, "items": [1], "n": {"gone": 1, "stay": 2}}
    result = apply_patches(state, [_set("/a/x", 2), _append("items", 2), _remove("n/gone")])
    assert result == {"a": {"x": 2, "keep": True}, "items": [1, 2], "n": {"stay": 2}}


def test_set_replaces_and_creates_top_level_keys() -> None:
    assert apply_patches({"a": 1}, [_set("a", {"b": 2}), _set("c", None)]) == {
        "a": {"b": 2},
        "c": None,
    }


def test_set_indexes_arrays() -> None:
    state = {"xs": [10, 20, {"k": 1}]}
    result = apply_patches(
        state, [_set("xs/0", 11), _set("xs/2/k", 2), _set("xs/3", 40), _set("xs/-", 50)]
    )
    assert result == {"xs": [11, 20, {"k": 2}, 40, 50]}


def test_set_through_dash_appends_a_new_object() -> None:
    assert apply_patches({"xs": []}, [_set("xs/-/name", "n")]) == {"xs": [{"name": "n"}]}


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("xs/5", "out of range"),
        ("xs/01", "not an array index"),
        ("xs/-1", "not an array index"),
        ("xs/a", "not an array index"),
        ("xs/9/k", "out of range"),
    ],
)
def test_bad_array_indices(path: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        apply_patches({"xs": [1, 2]}, [_set(path, 0)])


@pytest.mark.parametrize("blocker", ["text", 3, 1.5, True, None])
def test_set_through_a_non_container_names_patch_and_path(blocker: Any) -> None:
    with pytest.raises(ValidationError) as info:
        apply_patches({"a": blocker}, [_set("ok", 1), _set("a/b/c", 1)])
    message = str(info.value)
    assert "patch 1" in message
    assert "'a/b/c'" in message
    assert "/a is" in message
    assert info.value.errors == [message]
    assert info.value.status_code is None


# -- append -----------------------------------------------------------------------------


def test_append_creates_list_and_missing_intermediates() -> None:
    assert apply_patches({}, [_append("a/b/log", "x")]) == {"a": {"b": {"log": ["x"]}}}


def test_append_inside_arrays() -> None:
    state = {"m": [[1], 2]}
    result = apply_patches(state, [_append("m/0", 9), _append("m/-", 7)])
    assert result == {"m": [[1, 9], 2, [7]]}


@pytest.mark.parametrize("existing", ["s", 1, {"k": 1}, None, False])
def test_append_to_a_non_list_is_an_error(existing: Any) -> None:
    with pytest.raises(ValidationError, match="not an array"):
        apply_patches({"a": existing}, [_append("a", 1)])


def test_appended_value_is_copied() -> None:
    value = {"n": [1]}
    result = apply_patches({}, [_append("xs", value)])
    value["n"].append(2)
    assert result == {"xs": [{"n": [1]}]}


# -- remove -----------------------------------------------------------------------------


def test_remove_from_objects_and_arrays() -> None:
    state = {"a": {"b": 1, "c": 2}, "xs": [1, 2, 3]}
    result = apply_patches(state, [_remove("a/b"), _remove("xs/1")])
    assert result == {"a": {"c": 2}, "xs": [1, 3]}


@pytest.mark.parametrize("path", ["missing", "a/missing", "a/b/c", "xs/3", "xs/-"])
def test_remove_of_absent_targets_raises(path: str) -> None:
    with pytest.raises(ValidationError, match="patch 0"):
        apply_patches({"a": {"b": 1}, "xs": [1, 2, 3]}, [_remove(path)])


# -- op and path errors -----------------------------------------------------------------


@pytest.mark.parametrize("op", ["replace", "add", "SET", "", None, 3])
def test_unknown_ops_are_rejected(op: Any) -> None:
    with pytest.raises(ValidationError, match="unknown op"):
        apply_patches({}, [{"op": op, "path": "a", "value": 1}])


@pytest.mark.parametrize("path", ["", "/", "///"])
def test_empty_paths_are_rejected(path: str) -> None:
    with pytest.raises(ValidationError, match="empty path"):
        apply_patches({}, [_set(path, 1)])


def test_non_string_path_is_rejected() -> None:
    with pytest.raises(ValidationError, match="path must be a string"):
        apply_patches({}, [{"op": "set", "path": 3}])


def test_a_failing_patch_leaves_no_partial_result() -> None:
    state = {"a": 1}
    with pytest.raises(ValidationError, match="patch 2"):
        apply_patches(state, [_set("b", 2), _set("a", 3), _remove("zzz")])
    assert state == {"a": 1}


# -- inputs and helpers -----------------------------------------------------------------


def test_patch_ops_match_the_model_names() -> None:
    assert set(PATCH_OPS) == PatchOp.ALL


def test_mappings_and_models_are_both_accepted() -> None:
    patches: list[Any] = [{"op": "set", "path": "a", "value": 1}, _append("b", 2)]
    assert apply_patches({}, patches) == {"a": 1, "b": [2]}


def test_merge_map_request_form() -> None:
    request = StatePatchRequest.from_dict({"state": {"progress": 0.5, "x/y": 1}})
    result = apply_patches({"x": {"z": 0}}, request.effective_patches())
    assert result == {"progress": 0.5, "x": {"z": 0, "y": 1}}


def test_normalize_patch_keeps_the_written_path_and_makes_value_explicit() -> None:
    value = {"k": [1]}
    normalized = normalize_patch({"op": "set", "path": "//a/b", "value": value})
    assert normalized == {"op": "set", "path": "//a/b", "value": {"k": [1]}}
    assert normalized["value"] is not value
    assert normalize_patch(StatePatch(op="remove", path="a")) == {
        "op": "remove",
        "path": "a",
        "value": None,
    }
    assert normalize_patch({"op": "remove", "path": "a"})["value"] is None


def test_read_path() -> None:
    doc = {"a": [{"b": 1}], "c/d": 2}
    assert read_path(doc, "") is doc
    assert read_path(doc, "a/0/b") == 1
    assert read_path(doc, "/c~1d") == 2
    for missing in ["x", "a/1", "a/-", "a/0/b/c", "a/k"]:
        with pytest.raises(KeyError):
            read_path(doc, missing)
