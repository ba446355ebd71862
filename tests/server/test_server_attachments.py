"""RFC-0005 over HTTP: attachment records, both clients' field names, errors."""

from __future__ import annotations

from typing import Any

import pytest

from openintent.server.testing import DEV_KEY

BODY = {
    "filename": "r.jpg",
    "mime_type": "image/jpeg",
    "size": 245000,
    "storage_url": "https://s/r.jpg",
}


def intent(client: Any) -> str:
    r = client.post("/api/v1/intents", json={"title": "t"})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def url(iid: str, *rest: str) -> str:
    return "/".join([f"/api/v1/intents/{iid}/attachments", *rest])


def test_add_with_reference_body_returns_reference_and_client_keys(client: Any) -> None:
    iid = intent(client)
    r = client.post(url(iid), json={**BODY, "metadata": {"width": 1920, "height": 1080}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {k: body[k] for k in BODY} == BODY
    assert body["intent_id"] == iid
    assert body["created_by"] == body["uploaded_by"] == DEV_KEY
    assert body["created_at"] == body["createdAt"]
    assert not body["created_at"].endswith("Z")
    assert body["metadata"] == {"width": 1920, "height": 1080}
    assert client.get(url(iid)).json() == [body]


def test_async_client_field_names_are_accepted(client: Any) -> None:
    iid = intent(client)
    r = client.post(
        url(iid),
        json={
            "filename": "r.jpg",
            "content_type": "image/png",
            "url": "https://s/x",
            "size_bytes": 7,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["mime_type"], body["storage_url"], body["size"]) == ("image/png", "https://s/x", 7)
    assert "metadata" not in body  # absent from reference responses while empty


def test_list_is_bare_array_in_insertion_order(client: Any) -> None:
    iid = intent(client)
    names = ["a.txt", "b.txt", "c.txt"]
    for name in names:
        assert client.post(url(iid), json={**BODY, "filename": name}).status_code == 200
    assert [a["filename"] for a in client.get(url(iid)).json()] == names
    assert client.get(url("nope")).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {k: v for k, v in BODY.items() if k != "size"},
        {**BODY, "size": -1},
        {**BODY, "size": "12"},
        {**BODY, "size": 2**64},
        {**BODY, "filename": ""},
        {**BODY, "filename": "a\u0000b"},
        {**BODY, "mime_type": None},
        {**BODY, "metadata": []},
    ],
)
def test_bad_bodies_are_422_and_store_nothing(client: Any, body: dict[str, Any]) -> None:
    iid = intent(client)
    r = client.post(url(iid), json=body)
    assert r.status_code == 422, r.text
    assert isinstance(r.json()["detail"], list)
    assert client.get(url(iid)).json() == []
    # Validation precedes the existence check.
    assert client.post(url("nope"), json=body).status_code == 422


def test_unknown_intent_is_404(client: Any) -> None:
    r = client.post(url("nope"), json=BODY)
    assert r.status_code == 404
    assert r.json()["detail"] == "Intent not found"


def test_delete(client: Any) -> None:
    iid, other = intent(client), intent(client)
    aid = client.post(url(iid), json=BODY).json()["id"]
    r = client.delete(url(other, aid))  # another intent's path does not reach it
    assert r.status_code == 404
    assert r.json()["detail"] == "Attachment not found"
    r = client.delete(url(iid, aid))
    assert r.status_code == 204
    assert r.content == b""
    assert client.get(url(iid)).json() == []
    assert client.delete(url(iid, aid)).status_code == 404


def test_idempotency_key_creates_once(client: Any) -> None:
    iid = intent(client)
    headers = {"Idempotency-Key": "k-1"}
    first = client.post(url(iid), json=BODY, headers=headers)
    again = client.post(url(iid), json=BODY, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(client.get(url(iid)).json()) == 1
