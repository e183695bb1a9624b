"""Alerts after an audit: real webhook and SMTP servers on 127.0.0.1, a real warehouse, the real Prefect flow.

Covers: sent once per finding and destination (not again on the next run), Slack/Teams/JSON payloads with
scraped text escaped, a 500 and a timeout that are recorded as failed and retried on the next run, the SSRF
guard, e-mail through SMTP settings from the environment, and the audit flow surviving a failing webhook.
"""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from crawlers.config import Config, load_config  # noqa: E402
from findings_world import finding, save_run  # noqa: E402
from flows.alerts import destinations, send_alerts, slack_payload, teams_payload, webhook_key  # noqa: E402
from warehouse.alerts_store import attempts, sent_to  # noqa: E402
from warehouse.db import connect  # noqa: E402

D1, D2, D3 = dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)
REPORT_URL = "https://reports.example.org/ghostcheck/index.html"


class Webhook:
    """A real HTTP server on 127.0.0.1 that records JSON posts; `mode` is ok | 500 | block (until released)."""

    def __init__(self) -> None:
        """Start the server on an ephemeral port."""
        self.mode = "ok"
        self.received: list[dict[str, Any]] = []   # every request body that reached the server
        self.accepted: list[dict[str, Any]] = []   # bodies answered with 200
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                """Record the body, then answer per the server's mode."""
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
                hook.received.append(body)
                mode = hook.mode
                if mode == "block":
                    hook.release.wait(30)
                status = 500 if mode == "500" else 200
                if status == 200 and mode == "ok":
                    hook.accepted.append(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                """Stay quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/T000/B000/s3cr3tT0ken") -> str:
        """The server's URL for a path (the default looks like a Slack webhook with a secret)."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self) -> None:
        """Release blocked handlers and stop."""
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def hook() -> Iterator[Webhook]:
    """A webhook server for one test (blocked handlers are released at teardown)."""
    server = Webhook()
    yield server
    server.close()


def make_config(tmp_path: Path, url: str | None, fmt: str = "json", allow_private: bool = True,
                extra: str = "", email: list[str] | None = None) -> Config:
    """Write and load a ghostcheck.toml with an [alerts] section."""
    lines = ["[warehouse]", f'path = "{(tmp_path / "warehouse.duckdb").as_posix()}"',
             f'landing = "{(tmp_path / "landing").as_posix()}"', "[crawl]",
             f"allow_private_networks = {'true' if allow_private else 'false'}", "[alerts]",
             f'webhook_format = "{fmt}"', 'min_severity = "high"', f'report_url = "{REPORT_URL}"',
             "timeout_seconds = 2"]
    if url:
        lines.append(f'webhook_url = "{url}"')
    if email:
        lines.append("email_to = [" + ", ".join(f'"{e}"' for e in email) + "]")
    path = tmp_path / "ghostcheck.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return load_config(path)


def store(cfg: Config, as_of: dt.date, findings: list[dict[str, Any]]) -> str:
    """Save one run of findings into the config's warehouse; returns the run id."""
    con = connect(cfg.warehouse.path)
    try:
        return save_run(con, as_of, findings)[0]
    finally:
        con.close()


def ledger(cfg: Config) -> list[tuple]:
    """Every recorded alert attempt."""
    con = connect(cfg.warehouse.path)
    try:
        return attempts(con)
    finally:
        con.close()


FINDINGS = [finding("F1", "phone", severity="high"), finding("F2", "address", severity="low"),
            finding("F3", "accepting_status", severity="critical")]


def posted_ids(body: dict[str, Any]) -> set[str]:
    """Finding ids in a plain-JSON alert body."""
    return {f["finding_id"] for f in body["findings"]}


def test_sent_once_and_not_again(tmp_path, hook):
    cfg = make_config(tmp_path, hook.url())
    run1 = store(cfg, D1, FINDINGS)
    out = send_alerts(cfg, run1, D1)
    assert [o.status for o in out.outcomes] == ["sent"]
    assert len(hook.accepted) == 1 and posted_ids(hook.accepted[0]) == {"F1", "F3"}   # low F2 is below the bar
    body = hook.accepted[0]
    assert body["report_url"] == REPORT_URL and body["total"] == 2 and body["run_id"] == run1
    assert {f["evidence_url"] for f in body["findings"]} == {"https://practice.example/F1/contact",
                                                             "https://practice.example/F3/contact"}
    send_alerts(cfg, run1, D1)                                          # the same run again: nothing
    run2 = store(cfg, D2, [*FINDINGS, finding("F4", "address", severity="high")])
    send_alerts(cfg, run2, D2)                                          # next run: only the new F4
    assert len(hook.accepted) == 2 and posted_ids(hook.accepted[1]) == {"F4"}
    run3 = store(cfg, D3, [*FINDINGS, finding("F4", "address", severity="high")])
    assert send_alerts(cfg, run3, D3).outcomes[0].status == "nothing to send"
    assert len(hook.received) == 2
    key = webhook_key(hook.url())
    assert sorted((r[0], r[4]) for r in ledger(cfg)) == [("F1", "sent"), ("F3", "sent"), ("F4", "sent")]
    assert all("s3cr3t" not in str(r) for r in ledger(cfg)) and all(r[1] == key for r in ledger(cfg))


def test_findings_from_a_run_without_alerts_go_out_with_the_next_audit(tmp_path, hook):
    cfg = make_config(tmp_path, hook.url())
    send_alerts(cfg, store(cfg, D1, FINDINGS), D1)
    store(cfg, D2, [*FINDINGS, finding("F5", severity="high")])       # e.g. a manual `ghostcheck reconcile`
    run3 = store(cfg, D3, [*FINDINGS, finding("F5", severity="high"), finding("F6", severity="critical")])
    send_alerts(cfg, run3, D3)
    assert [posted_ids(b) for b in hook.accepted] == [{"F1", "F3"}, {"F5", "F6"}]
    # a destination added later starts with that run's new findings, not the whole backlog
    second = Webhook()
    try:
        cfg.alerts.webhook_url = second.url("/other")
        run4 = store(cfg, D3 + dt.timedelta(days=7), [*FINDINGS, finding("F7", severity="high")])
        send_alerts(cfg, run4, D3 + dt.timedelta(days=7))
        assert [posted_ids(b) for b in second.accepted] == [{"F7"}]
    finally:
        second.close()


@pytest.mark.parametrize("failure", ["500", "block"])
def test_failed_webhook_is_recorded_and_retried_next_run(tmp_path, hook, failure):
    cfg = make_config(tmp_path, hook.url(), extra="")
    cfg.alerts.timeout_seconds = 0.5
    hook.mode = failure
    run1 = store(cfg, D1, FINDINGS)
    out = send_alerts(cfg, run1, D1)                      # must not raise
    assert out.outcomes[0].status == "failed"
    assert ("HTTP 500" if failure == "500" else "timed out") in out.outcomes[0].error
    assert len(hook.received) == 1 and not hook.accepted
    assert sorted((r[0], r[4]) for r in ledger(cfg)) == [("F1", "failed"), ("F3", "failed")]
    assert all("s3cr3t" not in str(r[5]) for r in ledger(cfg))
    hook.release.set()
    hook.mode = "ok"
    run2 = store(cfg, D2, FINDINGS)                       # F1 and F3 are no longer new, but were never delivered
    assert send_alerts(cfg, run2, D2).outcomes[0].status == "sent"
    assert len(hook.accepted) == 1 and posted_ids(hook.accepted[0]) == {"F1", "F3"}
    run3 = store(cfg, D3, FINDINGS)
    send_alerts(cfg, run3, D3)
    assert len(hook.accepted) == 1
    con = connect(cfg.warehouse.path)
    try:
        assert sent_to(con, webhook_key(hook.url())) == {"F1", "F3"}
    finally:
        con.close()


def test_ssrf_guard_refuses_private_webhook_unless_allowed(tmp_path, hook):
    cfg = make_config(tmp_path, hook.url(), allow_private=False)
    run1 = store(cfg, D1, FINDINGS)
    out = send_alerts(cfg, run1, D1)
    assert out.outcomes[0].status == "failed" and "non-public" in out.outcomes[0].error
    assert "s3cr3t" not in out.outcomes[0].error and not hook.received
    cfg.crawl.allow_private_networks = True                # the operator allows it: the next run delivers
    run2 = store(cfg, D2, FINDINGS)
    assert send_alerts(cfg, run2, D2).outcomes[0].status == "sent" and len(hook.accepted) == 1


NASTY = finding("N1", "provider_not_at_location", severity="critical", provider_name="<!channel> Dr. O'Hara & Sons",
                evidence_text="<script>alert(1)</script> *bold* <https://evil.example|click>",
                evidence_url="https://practice.example/team?a=1&b=<2>|x", directory_value="Dr <b>O'Hara</b>")


def test_slack_payload_over_http_is_escaped(tmp_path, hook):
    cfg = make_config(tmp_path, hook.url(), fmt="slack")
    run1 = store(cfg, D1, [NASTY])
    send_alerts(cfg, run1, D1)
    body = hook.accepted[0]
    assert set(body) == {"text", "blocks"} and "1 new finding" in body["text"]
    section = next(b for b in body["blocks"] if b["type"] == "section")["text"]["text"]
    assert "<!channel>" not in section and "&lt;!channel&gt;" in section and "&amp; Sons" in section
    assert "<script>" not in section and "&lt;script&gt;" in section
    assert "<https://evil.example|click>" not in section
    # the evidence link is a real Slack link whose URL has & < > escaped and | percent-encoded
    assert "<https://practice.example/team?a=1&amp;b=&lt;2&gt;%7Cx|evidence>" in section
    context = body["blocks"][-1]["elements"][0]["text"]
    assert f"<{REPORT_URL}|open the report>" in context


def test_teams_payload_is_an_adaptive_card_with_html_escaped_text(tmp_path, hook):
    cfg = make_config(tmp_path, hook.url(), fmt="teams")
    run1 = store(cfg, D1, [NASTY, *FINDINGS])
    send_alerts(cfg, run1, D1)
    body = hook.accepted[0]
    assert body["type"] == "message"
    card = body["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = " ".join(b["text"] for b in card["content"]["body"])
    assert "<!channel>" not in texts and "<b>" not in texts and "&lt;b&gt;O&#x27;Hara&lt;/b&gt;" in texts
    assert "&lt;!channel&gt; Dr. O&#x27;Hara &amp; Sons" in texts
    assert card["content"]["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": REPORT_URL}]
    assert "3 of 3 listed" in texts


def test_payload_builders_cap_and_count():
    many = [finding(f"M{i}", severity="high") for i in range(60)]
    slack = slack_payload(many, 60, D1, "run-x", None, "high")
    assert len(slack["blocks"]) <= 50 and "45 of 60 listed" in slack["blocks"][-1]["elements"][0]["text"]
    teams = teams_payload(many[:5], 60, D1, "run-x", "file:///tmp/report/index.html", "high")
    assert "actions" not in teams["attachments"][0]["content"]        # Teams cannot open file:// links


# ----------------------------------------------------------------------------- e-mail


class SMTPRecorder(socketserver.ThreadingTCPServer):
    """A minimal real SMTP server on 127.0.0.1 that keeps each message's envelope and data."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        """Bind an ephemeral port."""
        self.messages: list[dict[str, Any]] = []
        super().__init__(("127.0.0.1", 0), _SMTPHandler)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Speak just enough SMTP (EHLO, MAIL, RCPT, DATA, QUIT) for smtplib."""

    def handle(self) -> None:
        """One SMTP session."""
        self.wfile.write(b"220 localhost test SMTP\r\n")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := self.rfile.readline():
            cmd = line.decode("ascii", "replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == "MAIL":
                envelope["from"] = cmd
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                envelope["rcpt"].append(cmd)
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                envelope["data"] = b"".join(data)
                self.server.messages.append(dict(envelope))  # type: ignore[attr-defined]
                self.wfile.write(b"250 OK queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


def test_email_alert_through_smtp_from_environment(tmp_path, monkeypatch):
    import email

    server = SMTPRecorder()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("GHOSTCHECK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("GHOSTCHECK_SMTP_PORT", str(server.server_address[1]))
        monkeypatch.setenv("GHOSTCHECK_SMTP_SECURITY", "none")
        monkeypatch.setenv("GHOSTCHECK_SMTP_FROM", "ghostcheck@example.org")
        cfg = make_config(tmp_path, None, email=["compliance@example.org"])
        assert [d.key for d in destinations(cfg.alerts)] == ["email:compliance@example.org"]
        run1 = store(cfg, D1, [NASTY])
        assert send_alerts(cfg, run1, D1).outcomes[0].status == "sent"
        assert len(server.messages) == 1
        msg = email.message_from_bytes(server.messages[0]["data"])
        assert "1 new finding" in msg["Subject"] and msg["To"] == "compliance@example.org"
        html_part = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
        assert "<!channel>" not in html_part and "<b>O" not in html_part and "&lt;b&gt;O&#x27;Hara" in html_part
        assert "&lt;!channel&gt; Dr. O&#x27;Hara &amp; Sons" in html_part and f'href="{REPORT_URL}"' in html_part
        run2 = store(cfg, D2, [NASTY])
        send_alerts(cfg, run2, D2)
        assert len(server.messages) == 1                                  # not twice
        monkeypatch.delenv("GHOSTCHECK_SMTP_HOST")
        (tmp_path / "second").mkdir()
        cfg2 = make_config(tmp_path / "second", None, email=["compliance@example.org"])
        run3 = store(cfg2, D1, [finding("E9", severity="critical")])
        out = send_alerts(cfg2, run3, D1)
        assert out.outcomes[0].status == "failed" and "GHOSTCHECK_SMTP_HOST" in out.outcomes[0].error
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- the audit flow


@pytest.fixture(scope="module")
def prefect_server():  # type: ignore[no-untyped-def]
    """A real temporary Prefect server for the audit-flow test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_audit_flow_survives_a_failing_webhook_and_retries_next_run(tmp_path, hook, prefect_server):
    from flows.audit import audit_flow
    from reconcile_world import add_listing, add_site

    site = "https://springfieldfm.example.com"
    cfg = make_config(tmp_path, hook.url(), fmt="slack")
    con = connect(cfg.warehouse.path)
    add_site(con, site_url=site, practice_name="Springfield Family Medicine", phones=["217-555-0100"],
             addresses=["12 Main Street Suite 4, Springfield, IL 62701"], providers=["John Smith"],
             roster_complete=True)
    add_listing(con, listing_id="lst-smith", npi="1234567893", provider_name="Smith, John A MD",
                practice_name="Springfield Family Medicine", address="12 Main St Ste 4", city="Springfield",
                state="IL", zip="62701", website=site, phone="217-555-0999")
    con.close()
    config_path = str(tmp_path / "ghostcheck.toml")
    text = Path(config_path).read_text(encoding="utf-8").replace('min_severity = "high"', 'min_severity = "low"')
    Path(config_path).write_text(text, encoding="utf-8")
    hook.mode = "500"
    first = audit_flow(config_path=config_path, as_of=D1.isoformat(), report_dir=str(tmp_path / "report"))
    assert first["new_findings"] >= 1 and len(hook.received) == 1 and not hook.accepted
    failed = {r[0] for r in ledger(cfg) if r[4] == "failed"}
    assert failed
    hook.mode = "ok"
    audit_flow(config_path=config_path, as_of=D2.isoformat(), report_dir=str(tmp_path / "report"))
    assert len(hook.accepted) == 1
    section = next(b for b in hook.accepted[0]["blocks"] if b["type"] == "section")["text"]["text"]
    assert "217-555-0999" in section and "springfieldfm.example.com" in section
    assert {r[0] for r in ledger(cfg) if r[4] == "sent"} == failed
    audit_flow(config_path=config_path, as_of=D3.isoformat(), report_dir=str(tmp_path / "report"))
    assert len(hook.received) == 2                                     # nothing new, nothing re-sent
