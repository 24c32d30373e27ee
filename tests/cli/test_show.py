"""``spacy-xlie show`` (a page for DocBins) and ``spacy-xlie serve`` (a local form)."""

import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
import spacy
from typer.testing import CliRunner

from spacy_xlie import add_relation
from spacy_xlie.cli import app
from spacy_xlie.displacy import make_server
from spacy_xlie.predict import load_pipeline
from spacy_xlie.util.io import write_docbin
from tests.rel_examples import make_examples


def test_show_writes_a_page_coloured_by_source(tmp_path):
    vocab = spacy.blank("xx").vocab
    refs = [eg.reference for eg in make_examples(vocab)]
    for doc in refs:  # gold relations, plus a "predicted" copy of the first one
        rel = doc._.relations[0] if doc._.relations else None
        if rel is not None:
            add_relation(doc, rel.head, rel.tail, rel.label, score=0.42, source="predicted")
    write_docbin(refs, tmp_path / "docs.spacy")
    out = tmp_path / "page" / "rel.html"
    result = CliRunner().invoke(app, ["show", str(tmp_path / "docs.spacy"), "--out", str(out),
                                      "--limit", "3"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<figure") == 3
    assert 'data-source="predicted"' in page and 'stroke="#1565c0"' in page
    assert "Apple \u2192 org:founded_by \u2192 Steve Jobs: score 0.420 (predicted)" in page
    result = CliRunner().invoke(app, ["show", str(tmp_path / "docs.spacy"), "--out", str(out),
                                      "--sources", "predicted"])
    assert result.exit_code == 0
    assert 'data-source=""' not in out.read_text(encoding="utf8")


def test_show_bad_input(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n{"text": 3}\n')
    result = CliRunner().invoke(app, ["show", str(bad), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 1
    assert f"error: {bad}:2: text: expected a string" in result.output
    assert not (tmp_path / "x.html").exists()


@pytest.fixture
def server(rel_model):
    """The serve page on 127.0.0.1 (a free port), in a thread; shut down after the test."""
    nlp = load_pipeline(str(rel_model / "model"), f"kb:{rel_model / 'kb'}")
    srv = make_server(nlp, port=0, max_chars=200, label="test model")
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    host, port = srv.server_address
    assert host == "127.0.0.1"
    try:
        yield f"http://{host}:{port}/"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
        srv.server_close()
    assert not thread.is_alive()


def post(url: str, text: str):
    data = urllib.parse.urlencode({"text": text}).encode()
    return urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30)


def test_serve_on_a_taken_port_is_a_one_line_error(rel_model):
    """The page binds after the pipeline has loaded; a port already in use ends there."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", str(rel_model / "model"), "--entities",
                                          f"kb:{rel_model / 'kb'}", "--port", str(port)])
    assert result.exit_code == 1, result.output
    assert f"error: 127.0.0.1:{port}: Address already in use" in result.output


def test_serve_form_relations_and_escaping(server):
    with urllib.request.urlopen(server, timeout=30) as resp:
        assert resp.status == 200
        assert "script-src" not in resp.headers["Content-Security-Policy"]
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert '<textarea name="text"' in resp.read().decode()
    attack = "<script>alert('x')</script> Angela Merkel arbeitet für die CDU in Berlin ."
    with post(server, attack) as resp:
        page = resp.read().decode()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert 'data-label="per:employee_of"' in page
    assert "Angela Merkel \u2192 per:employee_of \u2192 CDU" in page
    with post(server, "Nichts Bekanntes hier .") as resp:
        assert "No entities found" in resp.read().decode()


def test_serve_caps_input_size(server):
    for text in ("x" * 201, "x" * 5000):
        with pytest.raises(urllib.error.HTTPError) as err:
            post(server, text)
        assert err.value.code == 413
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "elsewhere", timeout=30)
    assert err.value.code == 404


def raw_status(url: str, request: bytes) -> str:
    """The status line the server answers ``request`` with (within 10 s)."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        return sock.makefile("rb").readline().decode().strip()


@pytest.mark.parametrize("length,status", [("-1", "400 Bad Request"),
                                           ("abc", "400 Bad Request"),
                                           ("", "411 Length Required")])
def test_serve_refuses_a_bad_content_length(server, length, status):
    """A negative length once read the body to EOF (no size cap, the connection held
    open); a non-numeric one dropped the connection with a traceback."""
    header = f"Content-Length: {length}\r\n" if length else ""
    request = f"POST / HTTP/1.1\r\nHost: x\r\n{header}\r\ntext=Berlin".encode()
    assert raw_status(server, request) == f"HTTP/1.0 {status}"


def test_serve_answers_while_a_connection_sits_idle(server):
    """A client that connects and sends nothing (a browser's preconnect) blocks no other."""
    host, port = urllib.parse.urlsplit(server).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=10):
        with urllib.request.urlopen(server, timeout=5) as resp:
            assert resp.status == 200


def test_serve_has_room_for_many_waiting_connections(rel_model):
    """socketserver's default backlog (5) reset connections under 50 clients
    (bench/results/faults.md)."""
    nlp = load_pipeline(str(rel_model / "model"), f"kb:{rel_model / 'kb'}")
    server = make_server(nlp, port=0)
    try:
        assert server.request_queue_size >= 64 and server.daemon_threads
    finally:
        server.server_close()
