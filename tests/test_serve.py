"""`qa serve` on the seeds: the HTTP API gives the answers a local ask gives, bad input gets a JSON error
with the right status, new index generations are picked up, and a deleted index is a 503 until it is back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from serving import READER

from qa.serving.http_api import MAX_BODY, MAX_QUESTION, create_app
from qa.serving.service import Service

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
Q_DEPUTY = "株洲市妇幼保健院的党委专职副书记是谁？"
Q_ABSTAIN = "株洲市二医院2022年全年的门诊量是多少人次？"
DEPUTY_DOC = "000_c13455d065a0bfbb.txt"


@pytest.fixture(scope="module")
def folder(seeds_index, tmp_path_factory) -> Path:
    """A copy of the seeds index that these tests may rebuild or delete."""
    dest = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(seeds_index.folder, dest)
    return dest


@pytest.fixture(scope="module")
def service(folder, cache_dir) -> Service:
    return Service(folder, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def client(service) -> TestClient:
    return TestClient(create_app(service), raise_server_exceptions=False)


def assert_error(resp, status: int, contains: str = "") -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in resp.text and "\n" not in body["error"]
    assert contains in body["error"], body
    return body["error"]


def test_ask_gives_what_a_local_ask_gives(client, seeds_index):
    resp = client.post("/ask", json={"question": Q_DEPUTY, "top_k": 3, "reader": READER})
    assert resp.status_code == 200
    got = resp.json()
    assert got == seeds_index.ask(Q_DEPUTY, top_k=3, reader=READER).to_dict(show_all=False)
    assert (got["answer"] is not None) == READER
    top = got["passages"][0]
    assert top["doc"] == DEPUTY_DOC and "邓顺钢" in top["sentence"] and len(got["passages"]) == 3
    source = (SEEDS / top["doc"]).read_text(encoding="utf-8")
    assert source[top["start"]:top["end"]] == top["text"]


def test_abstained_answer_and_show_all(client):
    out = client.post("/ask", json={"question": Q_ABSTAIN, "reader": READER}).json()
    assert out["abstained"] is True and out["passages"] == []
    shown = client.post("/ask", json={"question": Q_ABSTAIN, "show_all": True, "reader": READER}).json()
    assert shown["abstained"] is True and len(shown["passages"]) == 5
    bm25 = client.post("/ask", json={"question": Q_DEPUTY, "mode": "bm25", "top_k": 2, "reader": False}).json()
    assert bm25["passages"][0]["doc"] == DEPUTY_DOC and len(bm25["passages"]) == 2


def test_batch_answers_each_question_and_reports_bad_ones(client, seeds_index):
    long_q = "谁" * (MAX_QUESTION + 1)
    resp = client.post("/batch", json={"questions": [{"id": "a", "question": Q_DEPUTY}, {"question": "？！"},
                                                     {"id": "c", "question": long_q}], "top_k": 2,
                                       "reader": READER})
    assert resp.status_code == 200
    a, b, c = resp.json()["results"]
    assert a == seeds_index.ask_many([("a", Q_DEPUTY)], top_k=2, reader=READER)[0].to_dict()
    assert b["id"] == "2" and "punctuation" in b["error"] and b["passages"] == []
    assert c["id"] == "c" and f"longer than {MAX_QUESTION}" in c["error"]
    too_many = {"questions": [{"question": "谁是院长？"}] * 257}
    assert_error(client.post("/batch", json=too_many), 422, "too many questions")
    assert_error(client.post("/batch", json={"questions": []}), 422)


def test_health_names_index_generation_and_model(client, folder):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["index"] == str(folder.resolve())
    assert h["generation"] == (folder / "CURRENT").read_text().strip()
    assert h["passages"] == 224 and h["documents"] == 5 and h["model"] == "multilingual-e5-small"
    assert h["version"]


def test_documents_serve_indexed_sources_and_nothing_else(client, seeds_index):
    p = seeds_index.ask(Q_DEPUTY, reader=False).hits[0].passage
    doc = client.get(f"/documents/{p.doc}").json()
    assert doc["doc"] == p.doc and doc["text"] == (SEEDS / p.doc).read_text(encoding="utf-8")
    assert doc["text"][p.start:p.end] == p.text
    assert any(q["paragraph"] == p.paragraph and q["start"] == p.start for q in doc["passages"])
    for bad in ["nope.txt", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                "../seeds/" + p.doc, str(SEEDS / p.doc)]:
        resp = client.get(f"/documents/{bad}")
        assert resp.status_code == 404, (bad, resp.text)
        assert "root:" not in resp.text and set(resp.json()) == {"error"}


@pytest.mark.parametrize("body, status, contains", [
    ({"question": ""}, 422, "the question is empty"),
    ({"question": "   "}, 422, "the question is empty"),
    ({"question": "？！。…"}, 422, "only punctuation"),
    ({"question": 123}, 422, "question"),
    ({"question": ["谁"]}, 422, "question"),
    ({"question": "谁是院长？", "top_k": "5"}, 422, "top_k"),
    ({"question": "谁是院长？", "top_k": 0}, 422, "top_k"),
    ({"question": "谁是院长？", "top_k": 10 ** 9}, 422, "top_k"),
    ({"question": "谁是院长？", "mode": "fuzzy"}, 422, "mode"),
    ({"question": "谁是院长？", "show_all": "yes"}, 422, "show_all"),
    ({"question": "谁是院长？", "extra": 1}, 422, "extra"),
    ({}, 422, "question"),
    ([], 422, ""),
    ({"question": "谁" * (MAX_QUESTION + 1)}, 422, f"longer than {MAX_QUESTION} characters"),
])
def test_bad_ask_input_is_a_json_error(client, body, status, contains):
    assert_error(client.post("/ask", json=body), status, contains)


def test_bad_bodies_and_routes(client):
    assert_error(client.post("/ask", content=b"{not json", headers={"content-type": "application/json"}),
                 422, "not valid JSON")
    assert_error(client.post("/ask", content=b"", headers={"content-type": "application/json"}), 422)
    big = json.dumps({"question": "谁是院长？", "pad": "x" * MAX_BODY}).encode()
    assert_error(client.post("/ask", content=big, headers={"content-type": "application/json"}), 413)

    def chunks():  # no Content-Length: the limit still holds
        for _ in range(20):
            yield b" " * 100_000

    assert_error(client.post("/ask", content=chunks(), headers={"content-type": "application/json"}), 413)
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.get("/ask"), 405)


def test_the_local_error_message_is_the_servers(client, seeds_index):
    from qa.errors import QAError

    for q in ["", "？！。…"]:
        with pytest.raises(QAError) as local:
            seeds_index.ask(q)
        assert client.post("/ask", json={"question": q}).json()["error"] == str(local.value)


def test_token_is_required_everywhere_but_health(service):
    guarded = TestClient(create_app(service, token="s3cret-token"), raise_server_exceptions=False)
    ask = {"question": Q_DEPUTY, "top_k": 1, "reader": False}
    assert_error(guarded.post("/ask", json=ask), 401, "token")
    assert_error(guarded.post("/ask", json=ask, headers={"Authorization": "Bearer wrong"}), 401, "token")
    assert_error(guarded.post("/ask", json=ask, headers={"Authorization": "s3cret-token"}), 401)
    assert_error(guarded.post("/batch", json={"questions": [ask]}), 401)
    assert_error(guarded.get(f"/documents/{DEPUTY_DOC}"), 401)
    ok = {"Authorization": "Bearer s3cret-token"}
    assert guarded.post("/ask", json=ask, headers=ok).json()["passages"][0]["doc"] == DEPUTY_DOC
    assert guarded.get(f"/documents/{DEPUTY_DOC}", headers=ok).status_code == 200
    assert guarded.get("/health").json()["status"] == "ok"


def test_openapi_and_page_are_served(client):
    schema = client.get("/openapi.json").json()
    assert {"/ask", "/batch", "/health", "/documents/{doc}"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    for asset in ("app.js", "style.css"):
        text = client.get(f"/static/{asset}").text
        assert "http://" not in text and "https://" not in text  # nothing fetched from elsewhere
    assert "https://" not in page.text and "http://" not in page.text


def test_new_generation_is_picked_up_and_old_one_finishes(service, client, folder, cache_dir, tmp_path):
    from qa.api import Index

    before = client.get("/health").json()
    old = service.current()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "note.txt").write_text("青松县人民医院的新任院长是欧阳明远，他于2025年到任。\n", encoding="utf-8")
    Index.build([SEEDS, extra], folder, cache_dir=cache_dir)
    after = client.get("/health").json()
    assert after["generation"] != before["generation"] and after["passages"] == before["passages"] + 1
    out = client.post("/ask", json={"question": "青松县人民医院的新任院长是谁？", "top_k": 1, "show_all": True,
                                    "reader": READER}).json()
    assert out["passages"][0]["doc"] == "note.txt" and "欧阳明远" in out["passages"][0]["text"]
    assert service.current().embedder is old.embedder  # the model was not loaded again
    # A question that started on the old generation finishes on it, though its folder is gone.
    assert not old.stored.generation.exists()
    assert old.ask(Q_DEPUTY, top_k=1, reader=READER).hits[0].passage.doc == DEPUTY_DOC
    assert client.get("/documents/note.txt").json()["text"].startswith("青松县")
    Index.build([SEEDS], folder, cache_dir=cache_dir)
    assert client.get("/health").json()["passages"] == before["passages"]
    assert_error(client.get("/documents/note.txt"), 404)


def test_deleted_index_is_503_until_it_is_back(client, folder, tmp_path):
    keep = tmp_path / "kept"
    shutil.copytree(folder, keep)
    shutil.rmtree(folder)
    try:
        assert_error(client.post("/ask", json={"question": Q_DEPUTY, "reader": False}), 503, "not available")
        assert_error(client.get("/health"), 503, "no index in")
        assert_error(client.get(f"/documents/{DEPUTY_DOC}"), 503)
    finally:
        shutil.copytree(keep, folder)
    back = client.post("/ask", json={"question": Q_DEPUTY, "reader": False}).json()
    assert back["passages"][0]["doc"] == DEPUTY_DOC and client.get("/health").json()["status"] == "ok"


def test_changed_source_is_not_served_with_wrong_offsets(tmp_path, cache_dir):
    from qa.api import Index

    docs = tmp_path / "docs"
    docs.mkdir()
    note = docs / "note.txt"
    note.write_text("第一段：青松县医院有三百张床位。\n\n第二段：院长是欧阳明远。\n", encoding="utf-8")
    Index.build([docs], tmp_path / "idx", cache_dir=cache_dir)
    c = TestClient(create_app(Service(tmp_path / "idx", cache_dir=cache_dir)), raise_server_exceptions=False)
    note.write_text("全新的内容，偏移都不对了。\n", encoding="utf-8")
    assert_error(c.get("/documents/note.txt"), 409, "changed on disk")


def test_connections_send_answers_without_waiting_for_acknowledgements():
    import socket

    from qa.serving.http_api import listen

    sock = listen("127.0.0.1", 0, None)
    try:
        client = socket.create_connection(sock.getsockname()[:2])
        conn, _ = sock.accept()
        # Answers leave as two writes; Nagle's algorithm would hold the second back ~40 ms.
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        conn.close()
        client.close()
    finally:
        sock.close()
