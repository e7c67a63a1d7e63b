"""Uploads bounded before they are written (issue 18, item 4), and files cut short refused
(item 3).

The bound is checked at the ASGI level: the application is fed a body of 1 MiB messages, far
larger than its limit, and the test counts how many it pulled before answering. Form parsing
that reads the whole body first (then checks its size) pulls them all; a bounded receiver stops
at the limit. Every refused, failed, cancelled or dry-run deposit leaves no folder behind; file
names that are paths or overlong, and a CSV made of one huge line, are clear 400s.

Real file: INSEE Filosofi 2019 by département (../shared/data), cut in the middle of its
Lozère line as the audit did.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from observatoire.errors import AccessError, FileFormatError
from observatoire.observatory import Observatory
from observatoire.services.accounts import Role
from observatoire.web import create_app, uploads

from .conftest import DATA, needs_data, new_account, run

FILOSOFI = DATA / "filosofi" / "FILO2019_DISP_DEP.csv"
MIB = 1024**2


Served = tuple[FastAPI, TestClient, str]


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The home of all France (for the national Filosofi file by département) served with
    small upload limits (5 MiB deposits, 3 MiB documents), an analyst signed in, and the
    analyst's API token."""
    yield from _served(home, monkeypatch)


@pytest.fixture
def served93(home93: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The same on the home of the 93, for uploads that no referential but the 93's reads."""
    yield from _served(home93, monkeypatch)


def _served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setattr(uploads, "MAX_UPLOAD", 5 * MIB)
    monkeypatch.setattr(uploads, "MAX_DOCUMENT", 3 * MIB)
    with Observatory.open(home, write=True) as obs:
        app = create_app(obs)
        email = "analyste@test.invalid"
        client = new_account(app, email, Role.ANALYST)
        yield app, client, app.state.accounts.create_token(email, "tests")


def _pull(
    app: FastAPI,
    path: str,
    headers: dict[str, str],
    *,
    total: int,
    declared: bool = False,
    field: str = "fichier",
) -> tuple[int, int, bytes]:
    """POST a multipart body of ``total`` bytes of file content in 1 MiB messages straight
    to the ASGI app; returns (status, messages pulled by the app, answer body)."""
    boundary = "----borne"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
        f"{headers.pop('csrf', '')}\r\n"
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="gros.csv"\r\nContent-Type: text/csv\r\n\r\nCODGEO;X\r\n'
    ).encode()
    messages = [head] + [b"93066;1\r\n" * (MIB // 9)] * (total // MIB)
    messages.append(f"\r\n--{boundary}--\r\n".encode())
    size = sum(len(m) for m in messages)
    raw = [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if declared:
        raw.append((b"content-length", str(size).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": raw,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    pulled = 0
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(messages):
            pulled += 1
            return {
                "type": "http.request",
                "body": messages[pulled - 1],
                "more_body": pulled < len(messages),
            }
        await asyncio.sleep(3600)  # the client waits for the answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    # in a thread of its own: a session's browser (Playwright) may hold this thread's loop
    worker = threading.Thread(target=lambda: asyncio.run(app(scope, receive, send)))
    worker.start()
    worker.join()
    return int(answer["status"]), pulled, bytes(answer["body"])


def _session(client: TestClient) -> dict[str, str]:
    cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    return {"cookie": cookies, "csrf": client.cookies["obs_csrf"]}


@needs_data
def test_uploads_are_bounded_while_received_on_every_route(served93: Served, home93: Path) -> None:
    app, client, token = served93
    # 60 MiB sent, chunked (no Content-Length): the app stops pulling at its limit
    for route, headers, limit in (
        ("/imports", _session(client), 5),
        ("/api/v1/imports", {"authorization": f"Bearer {token}"}, 5),
        ("/documents", _session(client), 3),
        ("/connexion", _session(client), 1),  # any form: 1 MiB
        ("/besoins", _session(client), 1),
        ("/imports/confirmer", _session(client), 1),  # under an upload route: a form still
        ("/imports/1/retirer", _session(client), 1),
        ("/documents/doc-x", _session(client), 1),
    ):
        status, pulled, body = _pull(app, route, dict(headers), total=60 * MIB)
        assert status == 413, (route, status, body[:300])
        assert pulled <= limit + 3, (route, pulled)  # the head, the limit, one more
        assert "Mo" in body.decode()
    # a declared Content-Length beyond the limit: refused before a byte is read
    status, pulled, _ = _pull(app, "/imports", _session(client), total=60 * MIB, declared=True)
    assert status == 413 and pulled == 0
    # nothing left on disk, no spool anywhere in the home
    assert not any((home93 / "depots").iterdir()) if (home93 / "depots").exists() else True
    # within the limit the same route works (the file is read, the report shown)
    status, _, body = _pull(app, "/imports", _session(client), total=2 * MIB)
    assert status == 400, body[:500]
    text = body.decode()
    assert "gros.csv" in text and "Mo" not in re.sub(r"<[^>]+>", "", text).split("gros.csv")[1][:80]


@needs_data
def test_refused_failed_cancelled_and_dry_run_deposits_leave_no_folder(
    served: tuple[FastAPI, TestClient, str], home: Path
) -> None:
    app, client, token = served
    deposits = home / "depots"
    api = TestClient(app)
    for _ in range(10):
        with FILOSOFI.open("rb") as handle:
            answer = api.post(
                "/api/v1/imports?dry_run=true",
                headers={"Authorization": f"Bearer {token}"},
                files={"fichier": (FILOSOFI.name, handle, "text/csv")},
            )
        assert answer.status_code == 200 and answer.json()["rows_imported"] == 98
    assert list(deposits.iterdir()) == []
    refused = api.post(
        "/api/v1/imports?dry_run=true",
        headers={"Authorization": f"Bearer {token}"},
        files={"fichier": ("n.csv", b"a;b\n1;2\n", "text/csv")},
    )
    assert refused.status_code == 400 and "n.csv" in refused.json()["error"]
    assert str(home) not in refused.json()["error"] and "depots" not in refused.json()["error"]
    bad = client.post(
        "/imports",
        data={"csrf": client.cookies["obs_csrf"]},
        files={"fichier": ("saisie.csv", b"truc;machin\n1;2\n", "text/csv")},
    )
    assert bad.status_code == 400 and "saisie.csv" in bad.text
    assert str(home) not in bad.text and "/depots/" not in bad.text
    assert list(deposits.iterdir()) == []
    # validated then cancelled; validated then confirmed: nothing kept either way
    for action in ("annuler", "confirmer"):
        with FILOSOFI.open("rb") as handle:
            report = client.post(
                "/imports",
                data={"csrf": client.cookies["obs_csrf"]},
                files={"fichier": (FILOSOFI.name, handle, "text/csv")},
            )
        assert report.status_code == 200
        assert len(list(deposits.iterdir())) == 2  # the folder and its ticket, pending
        found = re.search(r'name="depot" value="([^"]+)"', report.text)
        assert found is not None
        done = client.post(
            "/imports/confirmer",
            data={"csrf": client.cookies["obs_csrf"], "depot": found.group(1), "action": action},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert list(deposits.iterdir()) == []
    # a deposit validated and abandoned for more than a day goes with the next deposit
    with FILOSOFI.open("rb") as handle:
        client.post(
            "/imports",
            data={"csrf": client.cookies["obs_csrf"]},
            files={"fichier": (FILOSOFI.name, handle, "text/csv")},
        )
    old = time.time() - 2 * 86400
    for entry in deposits.iterdir():
        os.utime(entry, (old, old))
    client.post(
        "/imports",
        data={"csrf": client.cookies["obs_csrf"]},
        files={"fichier": ("n.csv", b"a;b\n1;2\n", "text/csv")},
    )
    assert list(deposits.iterdir()) == []


@needs_data
def test_malformed_multipart_forms_are_clear_400s(served93: Served, home93: Path) -> None:
    app, _, token = served93
    api = TestClient(app)
    auth = {"Authorization": f"Bearer {token}"}
    body = b'--b\r\nContent-Disposition: form-data; name="fichier"; filename="a.csv"\r\n\r\nx'
    for headers, content, expected in (
        ({"Content-Type": "multipart/form-data; boundary=" + "b" * 300}, body, "multipart"),
        ({"Content-Type": "multipart/form-data; boundary=b"}, body, "envoi interrompu"),
        ({"Content-Type": "multipart/form-data"}, body, "multipart/form-data"),
        ({"Content-Type": "text/csv"}, b"CODGEO;X\n93001;1\n", "multipart/form-data"),
        (
            {"Content-Type": "multipart/form-data; boundary=b"},
            body + b'\r\n--b\r\nContent-Disposition: form-data; name="fichier"; '
            b'filename="b.csv"\r\n\r\ny\r\n--b--\r\n',
            "un seul fichier",
        ),
    ):
        answer = api.post("/api/v1/imports?dry_run=true", headers={**auth, **headers},
                          content=content)  # fmt: skip
        assert answer.status_code == 400, (headers, answer.status_code, answer.text[:200])
        assert expected in answer.json()["error"]
    assert not (home93 / "depots").exists() or list((home93 / "depots").iterdir()) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("..", "nom de fichier invalide"),
        (".", "nom de fichier invalide"),
        ("x" * 296 + ".csv", "nom de fichier trop long"),
        ("rapports/../..", "nom de fichier invalide"),
        ("C:\\Users\\..", "nom de fichier invalide"),
        ("\u202evsc.exe", "caractères de contrôle"),  # shown « exe.csv »
    ],
)
@needs_data
def test_file_names_that_are_paths_or_too_long_are_clear_400s(
    served93: Served, home93: Path, name: str, expected: str
) -> None:
    app, client, token = served93
    for answer in (
        client.post(
            "/imports",
            data={"csrf": client.cookies["obs_csrf"]},
            files={"fichier": (name, b"CODGEO;X\n93066;1\n", "text/csv")},
        ),
        TestClient(app).post(
            "/api/v1/imports?dry_run=true",
            headers={"Authorization": f"Bearer {token}"},
            files={"fichier": (name, b"CODGEO;X\n93066;1\n", "text/csv")},
        ),
        client.post(
            "/documents",
            data={"csrf": client.cookies["obs_csrf"], "titre": "t"},
            files={"fichier": (name, b"du texte", "text/plain")},
        ),
    ):
        assert answer.status_code == 400, (name, answer.status_code, answer.text[:300])
        assert expected in answer.text
    assert not (home93 / "depots").exists() or list((home93 / "depots").iterdir()) == []


@needs_data
def test_a_path_in_the_file_name_keeps_its_last_part_only(
    served: tuple[FastAPI, TestClient, str], home: Path
) -> None:
    _, client, _ = served
    with FILOSOFI.open("rb") as handle:
        report = client.post(
            "/imports",
            data={"csrf": client.cookies["obs_csrf"]},
            files={"fichier": ("../../../" + FILOSOFI.name, handle, "text/csv")},
        )
    assert report.status_code == 200, report.text[:300]
    assert [p.name for p in (home / "depots").glob("*/*")] == [FILOSOFI.name]
    assert not (home.parent / FILOSOFI.name).exists()


@needs_data
def test_a_single_line_csv_of_50_mb_is_a_clear_400(
    served93: Served, home93: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, token = served93
    monkeypatch.setattr(uploads, "MAX_UPLOAD", 64 * MIB)
    app = create_app(app.state.observatory)  # the limit is read when the app is built
    body = b"CODGEO;" + b"1;" * (25 * MIB)
    answer = TestClient(app).post(
        "/api/v1/imports?dry_run=true",
        headers={"Authorization": f"Bearer {token}"},
        files={"fichier": ("une_ligne.csv", body, "text/csv")},
    )
    assert answer.status_code == 400, answer.text[:300]
    assert "une_ligne.csv, ligne 1" in answer.json()["error"]
    assert "fins de ligne" in answer.json()["error"]
    assert list((home93 / "depots").iterdir()) == []


@needs_data
def test_a_filosofi_file_cut_in_a_line_is_refused_with_nothing_written(
    home: Path, tmp_path: Path
) -> None:
    """The audit's case: the file ends in ``48;Lozère;333``: 333 households instead of
    33,397, the rest read as secret. Refused naming the file, line and column."""
    whole = FILOSOFI.read_bytes()
    at = whole.index("48;Lozère;".encode()) + len("48;Lozère;333".encode())
    cut = tmp_path / FILOSOFI.name
    cut.write_bytes(whole[:at])
    line = whole[:at].count(b"\n") + 1
    with Observatory.open(home, write=True) as obs:
        before = obs.warehouse.count("import_batch")
        with pytest.raises(FileFormatError) as refused:
            obs.import_file(cut)
        assert refused.value.line == line and refused.value.column == "NBMEN19"
        assert "tronquée" in str(refused.value) and FILOSOFI.name in str(refused.value)
        assert obs.warehouse.count("import_batch") == before
        assert obs.warehouse.count("variable") == 0
    # every field there, but the last number cut after its decimal comma, no final line break
    start = whole.index("48;Lozère;".encode())
    line_text = whole[start : whole.index(b"\n", start)].rstrip(b"\r")
    last = line_text.rsplit(b";", 1)[1]
    assert b"," in last, line_text
    cut.write_bytes(whole[:start] + line_text[: len(line_text) - len(last) + last.index(b",") + 1])
    code, out = run("import", str(cut), home=home)
    assert code != 0 and "coupé au milieu d'un nombre" in out, out
    # the whole file, with or without its final line break, imports
    code, out = run("import", str(FILOSOFI), "--dry-run", home=home)
    assert code == 0, out


@needs_data
def test_a_zip_deposit_decompresses_within_the_deposit_limit_and_pending_ones_are_capped(
    served: tuple[FastAPI, TestClient, str], home: Path
) -> None:
    """A small zip whose CSV is larger than a deposit may be (5 MiB here) is refused from its
    directory, before it is read; an account keeps at most 3 deposits waiting."""
    import io
    import random
    import zipfile

    _, client, _ = served
    rows = random.Random(7)
    text = "CODGEO;NBMEN19;NBPERS19;Q219\n" + "".join(
        f"930{rows.randrange(100):02d};{rows.randrange(10**6)};{rows.randrange(10**6)};"
        f"{rows.randrange(10**5)}\n"
        for _ in range(350_000)
    )
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("gros.csv", text)
    assert len(packed.getvalue()) < 5 * MIB < len(text)
    answer = client.post(
        "/imports",
        data={"csrf": client.cookies["obs_csrf"]},
        files={"fichier": ("gros.zip", packed.getvalue(), "application/zip")},
    )
    assert answer.status_code == 400 and "décompressés" in answer.text, answer.text[:300]
    for _ in range(5):
        with FILOSOFI.open("rb") as handle:
            report = client.post(
                "/imports",
                data={"csrf": client.cookies["obs_csrf"]},
                files={"fichier": (FILOSOFI.name, handle, "text/csv")},
            )
        assert report.status_code == 200
    assert len([p for p in (home / "depots").iterdir() if p.is_dir()]) == 3


def test_a_deposit_or_a_proposal_is_acted_upon_once(tmp_path: Path) -> None:
    """Two confirmations of one deposit, or an acceptance racing a refusal (second audit):
    the first takes it, the second finds it gone."""
    from observatoire.errors import InputError
    from observatoire.services.deposits import Deposits

    deposits = Deposits(tmp_path)
    folder = deposits.new_folder()
    folder.mkdir(parents=True)
    (folder / "f.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    deposits.hold(folder, user="a@x.fr", collection="", proposal=True)
    with pytest.raises(AccessError):
        deposits.claim(folder.name, user="b@x.fr")
    taken, file, ticket = deposits.claim(folder.name, user="a@x.fr")
    assert ticket["proposal"] is True and file.name == "f.csv"
    with pytest.raises(InputError, match="déjà traité"):
        deposits.claim(folder.name, user="a@x.fr")
    ident = deposits.propose(taken, organisation="pa", user="a@x.fr", dataset="d", report={})
    assert [p.id for p in deposits.proposals()] == [ident]
    deposits.take(ident)
    assert deposits.proposals() == []  # under examination: listed no more
    with pytest.raises(InputError, match="déjà examinée"):
        deposits.take(ident)
    deposits.release(ident)  # the import failed: it waits again
    deposits.take(ident)
    deposits.decide(ident)
    assert list((tmp_path / "propositions").iterdir()) == []
    assert list((tmp_path / "depots").iterdir()) == []


@needs_data
def test_one_deposit_at_a_time_per_account_and_a_silent_upload_is_cut_off(
    served93: Served, home93: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account's second deposit while its first is still coming is refused, and an upload
    that sends nothing for IDLE_SECONDS is cut off: a partner cannot hold the disk with uploads
    it never finishes."""
    monkeypatch.setattr(uploads, "IDLE_SECONDS", 1.0)
    app, _, token = served93
    head = (
        b'--b\r\nContent-Disposition: form-data; name="fichier"; filename="lent.csv"\r\n\r\n'
        b"CODGEO;X\r\n"
    )
    answers: list[tuple[int, bytes]] = []

    async def call(stall: float) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": head, "more_body": True}
            await asyncio.sleep(stall)
            return {"type": "http.request", "body": b"93001;1\r\n--b--\r\n", "more_body": False}

        status: dict[str, Any] = {"body": b""}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["body"] += message.get("body", b"")

        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/api/v1/imports",
            "raw_path": b"/api/v1/imports", "query_string": b"dry_run=true",
            "headers": [
                (b"content-type", b"multipart/form-data; boundary=b"),
                (b"authorization", f"Bearer {token}".encode()),
            ],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        await app(scope, receive, send)
        answers.append((int(status["code"]), bytes(status["body"])))

    async def both() -> None:
        first = asyncio.create_task(call(stall=5.0))  # silent for 5 s: cut off after 1
        await asyncio.sleep(0.3)
        await call(stall=0.0)  # meanwhile, the same account's second deposit
        await first

    worker = threading.Thread(target=lambda: asyncio.run(both()))
    worker.start()
    worker.join()
    (second, said), (first, cut) = answers
    assert second == 400 and "en cours" in said.decode(), said[:300]
    assert first == 400 and "plus rien reçu" in cut.decode(), cut[:300]
    assert list((home93 / "depots").iterdir()) == []
