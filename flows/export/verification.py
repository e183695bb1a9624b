"""Findings as FHIR R4 `VerificationResult` resources shaped after the NDH ndh-Verification profile.

Each finding says: this element of this PractitionerRole/Location was checked
against a primary source (the practice's report or website) or another
directory, and failed (open) or was confirmed (resolved).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

NDH_PROFILE = "http://hl7.org/fhir/us/ndh/StructureDefinition/ndh-Verification"
FINDING_EXT = "https://ghostcheck.example.org/fhir/StructureDefinition/finding"
LISTING_SYSTEM = "urn:ghostcheck:listing-id"
PRACTICE_SOURCES = {"attestation", "phone_survey", "secret_shopper", "website"}

TARGET_LOCATION = {
    "accepting_status": "PractitionerRole.extension('newpatients')",
    "phone": "PractitionerRole.telecom",
    "address": "Location.address",
    "provider_not_at_location": "PractitionerRole.location",
    "insurer_not_accepted": "PractitionerRole.extension('network-reference')",
    "stale_listing": "PractitionerRole.meta.lastUpdated",
    "unreachable": "PractitionerRole.telecom",
}
STATUS = {"open": ("val-fail", "failed"), "resolved": ("validated", "successful")}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _instant(value: Any) -> str:
    """A FHIR dateTime with a time zone from a date/datetime/ISO string."""
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return stamp.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value or "").strip()
    return text or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _date(value: Any) -> str:
    """A FHIR date (YYYY-MM-DD) from a date/datetime/ISO string."""
    return _instant(value)[:10]


def fhir_id(text: str) -> str:
    """A valid FHIR id ([A-Za-z0-9-.]{1,64}) derived from any string."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]
    return cleaned or "unknown"


def targets(finding: dict[str, Any]) -> list[dict[str, Any]]:
    """References to the listed PractitionerRole/Location, or a logical reference to the listing."""
    refs = []
    for part in str(finding.get("source_key") or "").split("|"):
        match = re.fullmatch(r"(PractitionerRole|Location|Practitioner|Organization)/([A-Za-z0-9.-]{1,64})", part)
        if match:
            refs.append({"reference": part, "display": finding.get("provider_name") or None})
    if not refs:
        refs.append({
            "identifier": {"system": LISTING_SYSTEM, "value": str(finding.get("listing_id") or "unknown")},
            "display": f"{finding.get('insurer') or ''} listing of {finding.get('provider_name') or 'unknown provider'}".strip(),
        })
    return [{k: v for k, v in ref.items() if v is not None} for ref in refs]


def verification_result(finding: dict[str, Any]) -> dict[str, Any]:
    """One finding as an ndh-Verification-shaped VerificationResult (R4 JSON)."""
    source = str(finding.get("evidence_source") or "")
    practice = source in PRACTICE_SOURCES
    status, validation = STATUS.get(str(finding.get("status")), ("in-process", "unknown"))
    observed = _instant(finding.get("observed_at") or finding.get("last_seen"))
    primary: dict[str, Any] = {
        "who": {"display": (finding.get("evidence_url") or source or "unknown source")[:500]},
        "type": [_coding("http://terminology.hl7.org/CodeSystem/primary-source-type",
                         "auth-source" if practice else "issuer")],
        "communicationMethod": [_coding(
            "http://terminology.hl7.org/CodeSystem/verificationresult-communication-method",
            "pull" if source in {"website", "directory"} or not practice else "manual")],
        "validationStatus": _coding("http://terminology.hl7.org/CodeSystem/validation-status", validation),
        "validationDate": observed,
    }
    details = [
        ("findingType", "valueCode", finding.get("finding_type")),
        ("field", "valueString", finding.get("field")),
        ("directoryValue", "valueString", finding.get("directory_value")),
        ("observedValue", "valueString", finding.get("observed_value")),
        ("evidenceUrl", "valueUri", finding.get("evidence_url")),
        ("evidenceText", "valueString", finding.get("evidence_text")),
        ("severity", "valueCode", finding.get("severity")),
        ("confidence", "valueDecimal", finding.get("confidence")),
        ("insurer", "valueString", finding.get("insurer")),
        ("npi", "valueString", finding.get("npi")),
    ]
    extension = {
        "url": FINDING_EXT,
        "extension": [
            {"url": name, kind: (round(float(value), 4) if kind == "valueDecimal" else str(value))}
            for name, kind, value in details if value not in (None, "")
        ],
    }
    resource: dict[str, Any] = {
        "resourceType": "VerificationResult",
        "id": fhir_id(str(finding.get("finding_id") or "")),
        "meta": {"profile": [NDH_PROFILE]},
        "extension": [extension],
        "target": targets(finding),
        "targetLocation": [TARGET_LOCATION.get(str(finding.get("finding_type")), "PractitionerRole")],
        "need": _coding("http://terminology.hl7.org/CodeSystem/need", "periodic"),
        "status": status,
        "statusDate": _instant(finding.get("last_seen") or finding.get("observed_at")),
        "validationType": _coding("http://terminology.hl7.org/CodeSystem/validation-type",
                                  "primary" if practice else "multiple"),
        "validationProcess": [_coding("http://terminology.hl7.org/CodeSystem/validation-process",
                                      "primary" if practice else "multi")],
        "lastPerformed": observed,
        "primarySource": [primary],
    }
    if source in {"attestation", "phone_survey", "secret_shopper"}:
        resource["attestation"] = {
            "who": {"display": finding.get("practice_name") or finding.get("provider_name") or "practice"},
            "communicationMethod": _coding(
                "http://terminology.hl7.org/CodeSystem/verificationresult-communication-method", "manual"),
            "date": _date(finding.get("observed_at")),
        }
    return resource
