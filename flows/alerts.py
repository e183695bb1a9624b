"""Alerts after an audit: new serious findings go once to each `[alerts]` destination (webhook and/or email).

A destination is a webhook (JSON, Slack `text` + blocks, or a Teams Adaptive
Card message) posted through Prefect's `CustomWebhookNotificationBlock`, or an
e-mail address reached through SMTP settings read from environment variables
(`<smtp_env_prefix>_HOST`, `_PORT`, `_USER`, `_PASSWORD`, `_FROM`, `_SECURITY`
= starttls | ssl | none). Every attempt is recorded in `alerts_sent`; a finding
is sent to a destination at most once, and a failed send (HTTP error, timeout,
SMTP error) is retried on the next run. Sending never raises into the audit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote, urlsplit

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crawlers.config import AlertsConfig, Config, load_config
from crawlers.safety import BlockedTarget, check_url

SNIPPET = 280
SLACK_MAX_LISTED = 45  # Slack allows 50 blocks per message
SHOWN_FIELDS = ("finding_type", "severity", "insurer", "provider_name", "npi", "address", "field",
                "directory_value", "observed_value", "evidence_source", "evidence_url", "evidence_text",
                "confidence", "first_seen", "finding_id", "listing_id")


class AlertError(Exception):
    """A send that did not go through, phrased as one line without secrets (URLs, passwords)."""


@dataclass(frozen=True)
class Destination:
    """One place alerts go: `key` is what the ledger stores (never a secret webhook URL)."""

    key: str
    kind: str      # webhook | email
    target: str    # the URL or the address


@dataclass
class DestinationOutcome:
    """What happened for one destination in one run."""

    destination: str
    findings: int = 0
    status: str = "nothing to send"   # sent | failed | nothing to send
    error: str | None = None


@dataclass
class AlertsOutcome:
    """Per-destination outcomes of one alerts step."""

    outcomes: list[DestinationOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form (the Prefect task's result, logs)."""
        return {"destinations": [o.__dict__ for o in self.outcomes]}


# ---------------------------------------------------------------- destinations


def webhook_key(url: str) -> str:
    """The ledger key of a webhook: host plus a hash of the URL, so the URL's secret path is never stored."""
    host = urlsplit(url).hostname or "?"
    return f"webhook:{host}#{hashlib.sha256(url.encode('utf-8')).hexdigest()[:12]}"


def destinations(alerts: AlertsConfig) -> list[Destination]:
    """The configured destinations: the webhook (if any), then one per e-mail address."""
    found = []
    if alerts.webhook_url and alerts.webhook_url.strip():
        url = alerts.webhook_url.strip()
        found.append(Destination(webhook_key(url), "webhook", url))
    for address in dict.fromkeys(a.strip() for a in alerts.email_to if a and a.strip()):
        found.append(Destination(f"email:{address.lower()}", "email", address))
    return found


# ---------------------------------------------------------------- message text (pure)


def _text(value: Any, limit: int | None = None) -> str:
    """A finding value as one display line (None -> empty), cut at `limit` characters."""
    text = "" if value is None else " ".join(str(value).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def slack_escape(text: str) -> str:
    """Escape Slack mrkdwn control characters (&, <, >) so scraped text cannot inject links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_web_url(url: str | None) -> bool:
    """True for an absolute http(s) URL (the only kind linked in chat messages)."""
    return bool(url) and urlsplit(str(url)).scheme in ("http", "https") and bool(urlsplit(str(url)).netloc)


def slack_link(url: str, label: str) -> str:
    """A Slack `<url|label>` link with both parts escaped (| in the URL percent-encoded)."""
    return f"<{slack_escape(url.replace('|', '%7C'))}|{slack_escape(label).replace('|', '¦')}>"


def headline(count: int, as_of: dt.date, min_severity: str) -> str:
    """The one-line summary used as Slack fallback text, Teams title and e-mail subject."""
    return (f"ghostcheck: {count:,} new finding{'s' if count != 1 else ''} at or above {min_severity} "
            f"severity (as of {as_of.isoformat()})")


def _finding_line(f: Mapping[str, Any]) -> str:
    """One finding as plain text: what, who, which field, directory vs evidence (unescaped)."""
    who = _text(f.get("provider_name")) or "(no name)"
    if f.get("npi"):
        who += f" (NPI {_text(f.get('npi'))})"
    return (f"{_text(f.get('severity')).upper()} {_text(f.get('finding_type'))} · {_text(f.get('insurer'))} · {who}"
            f" · {_text(f.get('field'))}: directory “{_text(f.get('directory_value'), SNIPPET)}” vs "
            f"{_text(f.get('evidence_source')) or 'evidence'} “{_text(f.get('observed_value'), SNIPPET)}”")


def json_payload(findings: list[Mapping[str, Any]], total: int, as_of: dt.date, run_id: str,
                 report_url: str | None, min_severity: str) -> dict[str, Any]:
    """Plain JSON: the run, the report link and each listed finding's fields (JSON encoding does the escaping)."""
    return {
        "event": "ghostcheck.new_findings",
        "text": headline(total, as_of, min_severity),
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "min_severity": min_severity,
        "report_url": report_url,
        "total": total,
        "listed": len(findings),
        "findings": [{k: _plain(_text(f.get(k), 2000) if k == "evidence_text" else f.get(k)) for k in SHOWN_FIELDS}
                     for f in findings],
    }


def _plain(value: Any) -> Any:
    """JSON-friendly value (dates as ISO strings)."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def slack_payload(findings: list[Mapping[str, Any]], total: int, as_of: dt.date, run_id: str,
                  report_url: str | None, min_severity: str) -> dict[str, Any]:
    """Slack incoming-webhook payload: fallback `text` plus mrkdwn blocks, every scraped value escaped."""
    title = headline(total, as_of, min_severity)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _text(title, 150)}},
    ]
    for f in findings[:SLACK_MAX_LISTED]:
        line = slack_escape(_finding_line(f))
        url = f.get("evidence_url")
        if _is_web_url(url):
            line += " · " + slack_link(str(url), "evidence")
        elif url:
            line += " · evidence: " + slack_escape(_text(url, 200))
        snippet = _text(f.get("evidence_text"), SNIPPET)
        if snippet:
            line += "\n> " + slack_escape(snippet)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:2900]}})
    shown = min(len(findings), SLACK_MAX_LISTED)
    tail = f"{shown:,} of {total:,} listed · run {slack_escape(run_id)}"
    if report_url:
        tail += " · " + (slack_link(report_url, "open the report") if _is_web_url(report_url)
                         else "report: " + slack_escape(report_url))
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": tail}]})
    return {"text": slack_escape(title), "blocks": blocks}


def teams_payload(findings: list[Mapping[str, Any]], total: int, as_of: dt.date, run_id: str,
                  report_url: str | None, min_severity: str) -> dict[str, Any]:
    """Teams webhook payload: a message with one Adaptive Card (HTML-escaped text, links as actions)."""
    title = headline(total, as_of, min_severity)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": html.escape(title), "weight": "Bolder", "size": "Medium", "wrap": True},
    ]
    for f in findings:
        text = html.escape(_finding_line(f))
        url = f.get("evidence_url")
        if _is_web_url(url):
            text += f" · [evidence]({quote(str(url), safe=':/?#&=%+@;,~!$*')})"
        elif url:
            text += " · evidence: " + html.escape(_text(url, 200))
        body.append({"type": "TextBlock", "text": text, "wrap": True, "separator": True})
    body.append({"type": "TextBlock", "isSubtle": True, "wrap": True,
                 "text": html.escape(f"{len(findings):,} of {total:,} listed · run {run_id}"
                                     + ("" if not report_url or _is_web_url(report_url) else f" · report: {report_url}"))})
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                            "version": "1.4", "body": body}
    if _is_web_url(report_url):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": report_url}]
    return {"type": "message", "summary": html.escape(title),
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                             "content": card}]}


PAYLOADS: dict[str, Callable[..., dict[str, Any]]] = {
    "json": json_payload, "slack": slack_payload, "teams": teams_payload,
}


def email_message(findings: list[Mapping[str, Any]], total: int, as_of: dt.date, run_id: str,
                  report_url: str | None, min_severity: str, sender: str, to: str) -> EmailMessage:
    """A plain-text + HTML e-mail listing the findings; the HTML part escapes every value."""
    msg = EmailMessage()
    msg["Subject"] = headline(total, as_of, min_severity)
    msg["From"] = sender
    msg["To"] = to
    lines = [headline(total, as_of, min_severity), ""]
    items = []
    for f in findings:
        url = _text(f.get("evidence_url"))
        lines.append("- " + _finding_line(f) + (f"\n  evidence: {url}" if url else ""))
        link = (f' <a href="{html.escape(url, quote=True)}">evidence</a>' if _is_web_url(url)
                else (f" evidence: {html.escape(url)}" if url else ""))
        items.append(f"<li>{html.escape(_finding_line(f))}{link}</li>")
    lines += ["", f"{len(findings):,} of {total:,} listed · run {run_id}"]
    if report_url:
        lines.append(f"report: {report_url}")
    msg.set_content("\n".join(lines) + "\n")
    report = ""
    if report_url:
        report = (f'<p><a href="{html.escape(report_url, quote=True)}">Open the report</a></p>'
                  if _is_web_url(report_url) or report_url.startswith("file:")
                  else f"<p>report: {html.escape(report_url)}</p>")
    msg.add_alternative(
        f"<html><body><p><strong>{html.escape(headline(total, as_of, min_severity))}</strong></p>"
        f"<ul>{''.join(items)}</ul><p>{len(findings):,} of {total:,} listed · run {html.escape(run_id)}</p>"
        f"{report}</body></html>",
        subtype="html",
    )
    return msg


# ---------------------------------------------------------------- senders (I/O edges)


def post_webhook(url: str, payload: dict[str, Any], timeout: float, allow_private: bool) -> None:
    """POST a JSON payload through Prefect's CustomWebhookNotificationBlock; AlertError (no URL) on failure."""
    import httpx
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    try:
        check_url(url, allow_private=allow_private)
    except BlockedTarget as exc:
        raise AlertError(str(exc).replace(url, "the webhook URL")) from None
    # each top-level value goes in as a whole-value placeholder, so scraped text is never read as a template
    names = {key: f"v{i}" for i, key in enumerate(payload)}
    block = CustomWebhookNotificationBlock(
        name="ghostcheck", url=url, json_data={key: "{{ " + name + " }}" for key, name in names.items()},
        secrets={name: payload[key] for key, name in names.items()}, timeout=timeout,
        headers={"Content-Type": "application/json"}, allow_private_urls=allow_private,
    )
    try:
        block.notify(body="", subject=None)
    except httpx.HTTPStatusError as exc:
        raise AlertError(f"HTTP {exc.response.status_code} from the webhook") from None
    except httpx.TimeoutException:
        raise AlertError(f"webhook timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise AlertError(f"webhook request failed: {type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - e.g. Prefect's own SSRF refusal; never echo the URL
        raise AlertError(f"webhook not sent: {type(exc).__name__}: {str(exc).replace(url, 'the webhook URL')}") from None


@dataclass(frozen=True)
class SmtpSettings:
    """SMTP connection settings (read from the environment; the password never leaves this object)."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "starttls"  # starttls | ssl | none


def smtp_settings(prefix: str, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """SMTP settings from `<prefix>_HOST/_PORT/_USER/_PASSWORD/_FROM/_SECURITY`; AlertError naming what's missing."""
    env = os.environ if environ is None else environ
    host = (env.get(f"{prefix}_HOST") or "").strip()
    if not host:
        raise AlertError(f"e-mail alerts need {prefix}_HOST (and {prefix}_FROM) in the environment")
    security = (env.get(f"{prefix}_SECURITY") or "starttls").strip().lower()
    if security not in ("starttls", "ssl", "none"):
        raise AlertError(f"{prefix}_SECURITY {security!r}: expected starttls, ssl or none")
    port_text = (env.get(f"{prefix}_PORT") or "").strip()
    try:
        port = int(port_text) if port_text else {"ssl": 465, "starttls": 587, "none": 25}[security]
    except ValueError:
        raise AlertError(f"{prefix}_PORT {port_text!r}: expected a port number") from None
    sender = (env.get(f"{prefix}_FROM") or env.get(f"{prefix}_USER") or "").strip()
    if not sender:
        raise AlertError(f"e-mail alerts need {prefix}_FROM in the environment")
    return SmtpSettings(host, port, sender, (env.get(f"{prefix}_USER") or "").strip() or None,
                        env.get(f"{prefix}_PASSWORD") or None, security)


def send_email(msg: EmailMessage, settings: SmtpSettings, timeout: float) -> None:
    """Deliver one message over SMTP (STARTTLS/SSL as configured); AlertError without credentials on failure."""
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                client.login(settings.user, settings.password)
            client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertError(f"SMTP {settings.host}:{settings.port}: {type(exc).__name__}: "
                         f"{_text(exc, 200).replace(settings.password or chr(0), '***')}") from None


# ---------------------------------------------------------------- the step


def report_link(alerts: AlertsConfig, report_index: str | None) -> str | None:
    """The report link for messages: `[alerts] report_url`, else the local index.html as a file:// URI."""
    if alerts.report_url:
        return alerts.report_url
    if report_index:
        return Path(report_index).resolve().as_uri()
    return None


def _deliver(dest: Destination, cfg: Config, listed: list[dict[str, Any]], total: int, as_of: dt.date,
             run_id: str, link: str | None) -> None:
    """Send one message for one destination (raises AlertError on failure)."""
    alerts = cfg.alerts
    if dest.kind == "webhook":
        payload = PAYLOADS[alerts.webhook_format](listed, total, as_of, run_id, link, alerts.min_severity)
        post_webhook(dest.target, payload, alerts.timeout_seconds, cfg.crawl.allow_private_networks)
    else:
        settings = smtp_settings(alerts.smtp_env_prefix)
        msg = email_message(listed, total, as_of, run_id, link, alerts.min_severity, settings.sender, dest.target)
        send_email(msg, settings, alerts.timeout_seconds)


def send_alerts(cfg: Config, run_id: str, as_of: dt.date, report_index: str | None = None,
                log: Callable[[str], None] | None = None) -> AlertsOutcome:
    """Send this run's new findings (and earlier failed ones) to every destination once; never raises."""
    from warehouse.alerts_store import alert_candidates, mark_checked, record_sends
    from warehouse.db import connect

    say = log or (lambda _message: None)
    outcome = AlertsOutcome()
    dests = destinations(cfg.alerts)
    if not dests:
        return outcome
    link = report_link(cfg.alerts, report_index)
    try:
        con = connect(cfg.warehouse.path)
    except Exception as exc:  # noqa: BLE001 - alerts never fail the audit
        say(f"alerts: cannot open the warehouse: {exc}")
        outcome.outcomes = [DestinationOutcome(d.key, 0, "failed", str(exc)) for d in dests]
        return outcome
    try:
        for dest in dests:
            result = DestinationOutcome(dest.key)
            outcome.outcomes.append(result)
            try:
                candidates = alert_candidates(con, as_of, cfg.alerts.min_severity, dest.key)
            except Exception as exc:  # noqa: BLE001 - alerts never fail the audit
                result.status, result.error = "failed", f"cannot read findings: {type(exc).__name__}: {exc}"
                say(f"alerts: {dest.key}: {result.error}")
                continue
            if candidates:
                result.findings = len(candidates)
                try:
                    _deliver(dest, cfg, candidates[: cfg.alerts.max_listed], len(candidates), as_of, run_id, link)
                    result.status = "sent"
                except AlertError as exc:
                    result.status, result.error = "failed", str(exc)
                except Exception as exc:  # noqa: BLE001 - a sender crash is a failed send, not a failed audit
                    result.status, result.error = "failed", type(exc).__name__
            try:
                if candidates:
                    record_sends(con, [c["finding_id"] for c in candidates], dest.key, run_id, result.status,
                                 result.error)
                mark_checked(con, dest.key, as_of)
            except Exception as exc:  # noqa: BLE001
                say(f"alerts: {dest.key}: could not record the attempt: {type(exc).__name__}: {exc}")
            if candidates:
                say(f"alerts: {dest.key}: {result.status} ({result.findings} finding(s))"
                    + (f": {result.error}" if result.error else ""))
    finally:
        con.close()
    return outcome


@task(name="alerts", cache_policy=NO_CACHE, persist_result=False)
def alerts_task(config_path: str, run_id: str, as_of: dt.date, report_index: str | None) -> dict[str, Any]:
    """The audit flow's last step: send_alerts as a Prefect task; failures are logged, never raised."""
    logger = get_run_logger()
    try:
        return send_alerts(load_config(config_path), run_id, as_of, report_index, log=logger.info).to_dict()
    except Exception as exc:  # noqa: BLE001 - an alert problem must not fail the audit
        logger.warning("alerts not sent: %s", type(exc).__name__)
        return {"error": type(exc).__name__}
