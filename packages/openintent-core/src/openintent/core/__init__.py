"""Protocol machinery shared by every distribution: the wire codec, the state-patch
engine, the intent status rules and the wire constants (``openintent.core.wire``).

Only models from ``openintent.models.enums`` may be imported at load time here: the
model modules import the codec, so this package is often initialised in the middle of
``import openintent.models``.
"""

from openintent.core import wire
from openintent.core.converter import (
    dumps,
    format_timestamp,
    loads,
    parse_timestamp,
    structure,
    to_wire,
    unstructure,
    utcnow,
    wire_field,
)
from openintent.core.patch import (
    PATCH_OPS,
    apply_patches,
    join_path,
    normalize_patch,
    read_path,
    split_path,
)
from openintent.core.status import (
    ALLOWED_TRANSITIONS,
    CHILD_DONE_STATUSES,
    DEPENDENCY_DONE_STATUSES,
    KNOWN_STATUSES,
    TERMINAL_STATUSES,
    CompletionBlocker,
    can_transition,
    check_completion,
    check_transition,
    completion_blockers,
    dependencies_met,
    is_terminal,
    parse_status,
)
from openintent.core.wire import format_path, template_params

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CHILD_DONE_STATUSES",
    "DEPENDENCY_DONE_STATUSES",
    "KNOWN_STATUSES",
    "PATCH_OPS",
    "TERMINAL_STATUSES",
    "CompletionBlocker",
    "apply_patches",
    "can_transition",
    "check_completion",
    "check_transition",
    "completion_blockers",
    "dependencies_met",
    "dumps",
    "format_path",
    "format_timestamp",
    "is_terminal",
    "join_path",
    "loads",
    "normalize_patch",
    "parse_status",
    "parse_timestamp",
    "read_path",
    "split_path",
    "structure",
    "template_params",
    "to_wire",
    "unstructure",
    "utcnow",
    "wire",
    "wire_field",
]
