"""Corrections file for an insurer's directory team: the recommended changes as CSV, QHP providers.json or FHIR.

Only open findings whose recommended action is a change (update, remove_from_location, remove_from_network,
suppress_until_verified; never verify) and whose evidence confidence is at or above `min_confidence` become
changes. One change per (listing, field); the strongest evidence wins.

* CSV: one row per change (CSV_COLUMNS); text a spreadsheet would run as a formula is neutralized.
* QHP: providers.json entries (CMS QHP provider schema shape, validated against qhp_provider.schema.json) for every
  provider with a change, all its listed addresses included, the proposed values applied; addresses removed or
  suppressed are dropped; a provider left with no address, or removed from the network, goes to
  providers_removed.json instead (npi + reason), since QHP cannot express "remove". An entry the crawled data
  cannot make schema-valid (e.g. no city) goes to providers_rejected.json with the reason; the rest are written. QHP `accepting` is one value
  per provider: a proposed status wins over the listed ones; "accepting" when any of them accepts.
* FHIR: a transaction Bundle of PUT PractitionerRole (telecom, newpatients, active) and Location (address)
  resources rebuilt from the crawled listing with the changes applied; removals and suppressions set
  PractitionerRole.active = false. Elements ghostcheck does not crawl are absent: the practitioner is referenced by
  NPI identifier, so load the Bundle with the server's merge semantics if it holds more.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from reconcile.normalize.address import normalize_state, normalize_zip5, parse_address
from reconcile.normalize.phone import normalize_phone

CHANGE_ACTIONS = ("update", "remove_from_location", "remove_from_network", "suppress_until_verified")
FORMATS = ("csv", "qhp", "fhir")
CSV_COLUMNS = ("listing_id", "source_key", "insurer", "npi", "provider", "field", "current", "proposed", "action",
               "evidence_source", "evidence_url", "evidence_snippet", "confidence", "observed_at", "finding_id")
QHP_SCHEMA_PATH = Path(__file__).with_name("qhp_provider.schema.json")
QHP_ACCEPTING = {"accepting": "accepting", "limited": "accepting", "not_accepting": "not accepting",
                 "existing_only": "not accepting", "waitlist": "not accepting"}
FHIR_ACCEPTING = {"accepting": "newpt", "limited": "newpt", "not_accepting": "nopt", "existing_only": "existptonly",
                  "waitlist": "nopt"}
PLANNET = "http://hl7.org/fhir/us/davinci-pdex-plan-net"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
_FORMULA_START = ("=", "@", "\t", "\r", "+", "-")
_ACTION_FIELD = {"remove_from_location": "location", "remove_from_network": "network",
                 "suppress_until_verified": "listing"}


class CorrectionsError(Exception):
    """A corrections export problem, phrased as one line."""


@dataclass(frozen=True)
class Change:
    """One recommended change to one listing, with its evidence."""

    listing_id: str
    source_key: str | None
    insurer: str
    npi: str | None
    provider: str | None
    field: str
    current: str | None
    proposed: str | None
    action: str
    evidence_source: str | None
    evidence_url: str | None
    evidence_snippet: str | None
    confidence: float
    observed_at: str | None
    finding_id: str


@dataclass(frozen=True)
class CorrectionsSummary:
    """What an export wrote."""

    paths: list[Path]
    changes: int
    listings: int
    rejected: int = 0  # QHP entries set aside because they break the schema (providers_rejected-*.json)


def change_from_finding(row: Mapping[str, Any]) -> Change:
    """The change a finding (findings view row with recommended_action) asks for."""
    action = str(row["recommended_action"])
    field = _ACTION_FIELD.get(action, str(row.get("field") or ""))
    current = row.get("directory_value")
    if action == "remove_from_location":
        current = row.get("address") or current
    observed = row.get("observed_at")
    return Change(
        listing_id=str(row["listing_id"]), source_key=row.get("source_key"), insurer=str(row.get("insurer") or ""),
        npi=row.get("npi"), provider=row.get("provider_name"), field=field,
        current=None if current is None else str(current),
        proposed=row.get("proposed_value") if action == "update" else None, action=action,
        evidence_source=row.get("evidence_source"), evidence_url=row.get("evidence_url"),
        evidence_snippet=_snippet(row.get("evidence_text")), confidence=float(row.get("confidence") or 0.0),
        observed_at=observed.isoformat() if isinstance(observed, (dt.date, dt.datetime)) else observed,
        finding_id=str(row["finding_id"]),
    )


def _snippet(text: Any, limit: int = 300) -> str | None:
    """Evidence text on one line, cut to `limit` characters."""
    if text is None:
        return None
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def select_changes(rows: Iterable[Mapping[str, Any]], min_confidence: float) -> list[Change]:
    """Change actions at or above min_confidence as changes, one per (listing, field); the strongest wins."""
    best: dict[tuple[str, str], Change] = {}
    for row in rows:
        if row.get("recommended_action") not in CHANGE_ACTIONS or float(row.get("confidence") or 0) < min_confidence:
            continue
        if row["recommended_action"] == "update" and not row.get("proposed_value"):
            continue
        change = change_from_finding(row)
        key = (change.listing_id, change.field)
        if key not in best or (change.confidence, change.finding_id) > (best[key].confidence, best[key].finding_id):
            best[key] = change
    return sorted(best.values(), key=lambda c: (c.npi or "", c.listing_id, c.field))


def read_changes(con: duckdb.DuckDBPyConnection, insurer: str, min_confidence: float) -> list[Change]:
    """The open findings of one insurer as changes (CorrectionsError naming known insurers when it has none)."""
    known = [r[0] for r in con.execute("SELECT DISTINCT insurer FROM listings ORDER BY 1").fetchall()]
    if not any(k.lower() == insurer.lower() for k in known):
        raise CorrectionsError(f"no listings for insurer {insurer!r} in the warehouse (known: "
                               f"{', '.join(known) or 'none'})")
    rel = con.execute(
        "SELECT f.*, l.source_key FROM findings f LEFT JOIN listings l USING (listing_id) "
        "WHERE lower(f.insurer) = lower(?) AND f.status = 'open' ORDER BY f.finding_id", [insurer])
    names = [d[0] for d in rel.description]
    if "recommended_action" not in names:
        raise CorrectionsError("the warehouse has no recommended actions: run `ghostcheck reconcile` first")
    return select_changes((dict(zip(names, r)) for r in rel.fetchall()), min_confidence)


def read_listings(con: duckdb.DuckDBPyConnection, insurer: str, npis: Iterable[str]) -> list[dict[str, Any]]:
    """Current listings of the insurer for these NPIs, with the crawled extras from `raw` (specialties, gender ...)."""
    wanted = sorted({n for n in npis if n})
    if not wanted:
        return []
    con.register("_corrections_npis", pa.table({"npi": pa.array(wanted, pa.string())}))
    try:
        rel = con.execute(
            "SELECT l.*, d.raw FROM listings l JOIN _corrections_npis w ON w.npi = l.npi "
            "LEFT JOIN directory_listings d ON d.listing_id = l.listing_id AND d.run_id = l.run_id "
            "WHERE lower(l.insurer) = lower(?) ORDER BY l.npi, l.source_key, l.listing_id",
            [insurer])
        names = [d[0] for d in rel.description]
        fetched = rel.fetchall()
    finally:
        con.unregister("_corrections_npis")
    out = []
    for values in fetched:
        row = dict(zip(names, values))
        for key in ("raw", "plans"):
            if isinstance(row.get(key), str):
                try:
                    row[key] = json.loads(row[key])
                except json.JSONDecodeError:
                    row[key] = None
        out.append(row)
    return out


def csv_cell(value: Any) -> str:
    """A CSV cell: None empty, text a spreadsheet would run as a formula prefixed with a quote."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_START) and not (text[:1] in "+-" and text[1:2].isdigit()):
        return "'" + text
    return text


def _write_atomic(path: Path, text: str) -> None:
    """Write text to path via a .tmp file and rename, so a half-written file is never seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def json_lines_array(items: list[Any]) -> str:
    """A JSON array with one item per line: readable, diffable, and written by the fast C encoder."""
    if not items:
        return "[]\n"
    return "[\n" + ",\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n]\n"


def write_csv(path: Path, changes: list[Change]) -> Path:
    """Write the corrections CSV (CSV_COLUMNS, one row per change)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for change in changes:
            values = asdict(change)
            values["confidence"] = f"{change.confidence:.4f}"
            writer.writerow([csv_cell(values[c]) for c in CSV_COLUMNS])
    os.replace(tmp, path)
    return path


def by_listing(changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Changes grouped by listing id."""
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.listing_id, []).append(change)
    return grouped


def corrected(listing: Mapping[str, Any], changes: Iterable[Change]) -> dict[str, Any]:
    """A listing with its changes applied: phone/address/accepting_status replaced; `removed` set by removals."""
    row = dict(listing)
    row["removed"] = None
    for change in changes:
        if change.action == "update" and change.field == "phone":
            row["phone"] = change.proposed
        elif change.action == "update" and change.field == "address":
            parsed = parse_address(change.proposed)
            if parsed is not None:
                row.update(address=parsed.line, city=parsed.city or row.get("city"),
                           state=parsed.state or row.get("state"), zip=parsed.zip5 or row.get("zip"),
                           address_number_street=" ".join(p for p in (parsed.number, parsed.street) if p),
                           address_unit=parsed.unit)
        elif change.action == "update" and change.field == "accepting_status":
            row["accepting_status"] = change.proposed
        elif change.action in ("remove_from_location", "remove_from_network", "suppress_until_verified"):
            row["removed"] = change.action
    return row


def _digits_phone(text: Any) -> str | None:
    """A phone as QHP publishes it (10 digits for US numbers), else the text as given."""
    e164 = normalize_phone(str(text)) if text else None
    if e164 and e164.startswith("+1"):
        return e164[2:12]
    return str(text) if text else None


def _qhp_address(row: Mapping[str, Any]) -> dict[str, Any]:
    """A QHP addresses[] item from a corrected listing."""
    street = row.get("address_number_street")
    unit = row.get("address_unit")
    if street is None:
        parsed = parse_address(", ".join(str(p) for p in (row.get("address"), row.get("city"),
                                                           f"{row.get('state') or ''} {row.get('zip') or ''}")
                                         if p and str(p).strip()))
        street, unit = (row.get("address"), None) if parsed is None else (
            " ".join(p for p in (parsed.number, parsed.street) if p) or row.get("address"), parsed.unit)
    state = normalize_state(row.get("state")) or str(row.get("state") or "")
    zip_text = str(row.get("zip") or "").strip()
    zip_code = zip_text if re.fullmatch(r"\d{5}(-?\d{4})?", zip_text) else normalize_zip5(zip_text) or zip_text
    item = {"address": street or "", "city": row.get("city") or "", "state": state, "zip": zip_code,
            "phone": _digits_phone(row.get("phone")) or ""}
    if unit:
        item["address_2"] = unit
    return item


def _qhp_name(row: Mapping[str, Any]) -> dict[str, str]:
    """The QHP name object from the listing's split name (display name as last name when not split)."""
    if row.get("first_name") or row.get("last_name"):
        name = {"first": row.get("first_name") or "", "middle": row.get("middle_name") or "",
                "last": row.get("last_name") or ""}
    else:
        name = {"first": "", "middle": "", "last": str(row.get("provider_name") or "")}
    if row.get("credentials"):
        name["suffix"] = str(row["credentials"])
    return name


def _qhp_plans(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The union of the listings' plans in QHP plan shape."""
    plans: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        for plan in row.get("plans") or []:
            if isinstance(plan, dict) and plan.get("plan_id"):
                key = (str(plan["plan_id"]), str(plan.get("network_tier") or ""))
                item = {"plan_id_type": plan.get("plan_id_type") or "HIOS-PLAN-ID", "plan_id": str(plan["plan_id"]),
                        "network_tier": re.sub(r"[^A-Z0-9]+", "-", str(plan.get("network_tier") or "PREFERRED")
                                               .upper()).strip("-") or "PREFERRED"}
                years = [int(y) for y in plan.get("years") or [] if str(y).isdigit()]
                if years:
                    item["years"] = years
                plans.setdefault(key, item)
    return list(plans.values())


def qhp_entries(listings: list[dict[str, Any]], changes: list[Change], today: dt.date) -> tuple[list[dict], list[dict]]:
    """(providers.json entries, removed providers) for every NPI with a change; see the module docstring."""
    grouped = by_listing(changes)
    changed_npis = {c.npi for c in changes if c.npi}
    proposed_status: dict[str, set[str]] = {}
    for change in changes:
        if change.field == "accepting_status" and change.action == "update" and change.npi:
            status = QHP_ACCEPTING.get(str(change.proposed))
            if status:
                proposed_status.setdefault(change.npi, set()).add(status)
    per_npi: dict[str, list[dict[str, Any]]] = {}
    for listing in listings:
        if listing.get("npi") in changed_npis:
            per_npi.setdefault(listing["npi"], []).append(corrected(listing, grouped.get(listing["listing_id"], [])))
    entries, removed = [], []
    for npi in sorted(per_npi):
        rows = per_npi[npi]
        kept = [r for r in rows if not r["removed"]]
        if not kept or any(r["removed"] == "remove_from_network" for r in rows):
            reasons = sorted({r["removed"] for r in rows if r["removed"]})
            removed.append({"npi": npi, "reason": ", ".join(reasons), "listing_ids": [r["listing_id"] for r in rows]})
            continue
        first = rows[0]
        raw = first.get("raw") if isinstance(first.get("raw"), dict) else {}
        facility = str(raw.get("provider_type") or "").upper() == "FACILITY"
        entry: dict[str, Any] = {"npi": npi, "type": "FACILITY" if facility else "INDIVIDUAL"}
        if facility:
            entry["facility_name"] = first.get("practice_name") or first.get("provider_name") or ""
            entry["facility_type"] = list(raw.get("facility_type") or []) or [first.get("specialty") or "Facility"]
        else:
            entry["name"] = _qhp_name(first)
        entry["addresses"] = [_qhp_address(r) for r in kept]
        if not facility:
            specialties = raw.get("specialties") or ([first["specialty"]] if first.get("specialty") else [])
            entry["specialty"] = [str(s) for s in specialties]
            # QHP `accepting` is per provider: a proposed status (practice evidence) wins over the listed ones
            statuses = proposed_status.get(npi, set()) or {QHP_ACCEPTING.get(str(r.get("accepting_status"))) for r in kept} - {None}
            entry["accepting"] = "accepting" if "accepting" in statuses else (
                "not accepting" if statuses else "not accepting")
            entry["languages"] = [str(x) for x in raw.get("languages") or []]
            if raw.get("gender"):
                entry["gender"] = str(raw["gender"])
        entry["plans"] = _qhp_plans(rows)
        entry["last_updated_on"] = today.isoformat()
        entries.append(entry)
    return entries, removed


def qhp_errors(entries: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(entry index, one-line reason) for every providers.json entry that breaks qhp_provider.schema.json."""
    import jsonschema

    schema = json.loads(QHP_SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    found: dict[int, str] = {}
    for err in sorted(validator.iter_errors(entries), key=lambda e: [str(p) for p in e.path]):
        path = list(err.path)
        index = int(path[0]) if path and isinstance(path[0], int) else -1
        where = "/".join(str(p) for p in path[1:]) or "(entry)"
        found.setdefault(index, f"{where}: {err.message}")
    return sorted(found.items())


def validate_qhp(entries: list[dict[str, Any]]) -> None:
    """Validate providers.json entries against qhp_provider.schema.json (CorrectionsError naming the first bad one)."""
    errors = qhp_errors(entries)
    if errors:
        index, reason = errors[0]
        raise CorrectionsError(f"providers.json entry {index} does not match the QHP schema: {reason}")


def _fhir_id(text: str) -> str:
    """A valid FHIR id from any text (flows.export.verification.fhir_id)."""
    from flows.export.verification import fhir_id

    return fhir_id(text)


def _ids(listing: Mapping[str, Any]) -> tuple[str, str | None]:
    """(PractitionerRole id, Location id) from a FHIR source key 'PractitionerRole/1|Location/9', else listing id."""
    parts = dict(p.split("/", 1) for p in str(listing.get("source_key") or "").split("|") if "/" in p)
    role = parts.get("PractitionerRole") or _fhir_id(str(listing["listing_id"]))
    return _fhir_id(role), _fhir_id(parts["Location"]) if parts.get("Location") else None


def _role_resource(row: Mapping[str, Any], role_id: str, location_id: str | None) -> dict[str, Any]:
    """A PractitionerRole (R4, Plan-Net shaped) rebuilt from a corrected listing."""
    resource: dict[str, Any] = {"resourceType": "PractitionerRole", "id": role_id, "active": not row["removed"]}
    if row.get("npi"):
        resource["practitioner"] = {"identifier": {"system": NPI_SYSTEM, "value": str(row["npi"])},
                                    "display": str(row.get("provider_name") or row["npi"])}
    if row.get("practice_name"):
        resource["organization"] = {"display": str(row["practice_name"])}
    if location_id:
        resource["location"] = [{"reference": f"Location/{location_id}"}]
    if row.get("specialty"):
        coding = {"display": str(row["specialty"])}
        if row.get("specialty_code"):
            coding.update(system="http://nucc.org/provider-taxonomy", code=str(row["specialty_code"]))
        resource["specialty"] = [{"coding": [coding], "text": str(row["specialty"])}]
    phone = normalize_phone(str(row["phone"])) if row.get("phone") else None
    if row.get("phone"):
        resource["telecom"] = [{"system": "phone", "value": phone or str(row["phone"]), "use": "work"}]
    extensions = []
    code = FHIR_ACCEPTING.get(str(row.get("accepting_status")))
    if code:
        extensions.append({"url": f"{PLANNET}/StructureDefinition/newpatients", "extension": [{
            "url": "acceptingPatients", "valueCodeableConcept": {"coding": [{
                "system": f"{PLANNET}/CodeSystem/AcceptingPatientsCS", "code": code}]}}]})
    if row["removed"] != "remove_from_network":
        for network in row.get("networks") or []:
            extensions.append({"url": f"{PLANNET}/StructureDefinition/network-reference",
                               "valueReference": {"display": str(network)}})
    if extensions:
        resource["extension"] = extensions
    return resource


def _location_resource(row: Mapping[str, Any], location_id: str) -> dict[str, Any]:
    """A Location (R4) with the corrected address."""
    address: dict[str, Any] = {"use": "work"}
    if row.get("address"):
        address["line"] = [str(row["address"])]
    for key, fhir_key in (("city", "city"), ("state", "state"), ("zip", "postalCode")):
        if row.get(key):
            address[fhir_key] = str(row[key])
    resource: dict[str, Any] = {"resourceType": "Location", "id": location_id, "status": "active", "address": address}
    raw = row.get("raw") if isinstance(row.get("raw"), dict) else {}
    name = raw.get("location_name") or row.get("practice_name")
    if name:
        resource["name"] = str(name)
    return resource


def fhir_bundle(listings: list[dict[str, Any]], changes: list[Change]) -> dict[str, Any]:
    """A transaction Bundle: PUT PractitionerRole per changed listing, PUT Location where the address changed."""
    grouped = by_listing(changes)
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for listing in listings:
        mine = grouped.get(listing["listing_id"])
        if not mine:
            continue
        row = corrected(listing, mine)
        role_id, location_id = _ids(listing)
        if any(c.field == "address" and c.action == "update" for c in mine):
            location_id = location_id or _fhir_id(f"loc-{listing['listing_id']}")
            url = f"Location/{location_id}"
            if url not in seen:
                seen.add(url)
                entries.append({"fullUrl": f"urn:ghostcheck:{url}", "resource": _location_resource(row, location_id),
                                "request": {"method": "PUT", "url": url}})
        url = f"PractitionerRole/{role_id}"
        if url not in seen:
            seen.add(url)
            entries.append({"fullUrl": f"urn:ghostcheck:{url}", "resource": _role_resource(row, role_id, location_id),
                            "request": {"method": "PUT", "url": url}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def export_corrections(con: duckdb.DuckDBPyConnection, insurer: str, fmt: str, out_dir: Path,
                       min_confidence: float = 0.8, today: dt.date | None = None) -> CorrectionsSummary:
    """Write the corrections file(s) for one insurer in one format; returns the paths and counts."""
    if fmt not in FORMATS:
        raise CorrectionsError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not 0 <= min_confidence <= 1:
        raise CorrectionsError(f"--min-confidence {min_confidence}: expected a number between 0 and 1")
    changes = read_changes(con, insurer, min_confidence)
    slug = "".join(ch if ch.isalnum() else "-" for ch in insurer.lower()).strip("-") or "insurer"
    listings_touched = len({c.listing_id for c in changes})
    if fmt == "csv":
        return CorrectionsSummary([write_csv(out_dir / f"corrections-{slug}.csv", changes)], len(changes),
                                  listings_touched)
    listings = read_listings(con, insurer, {c.npi for c in changes if c.npi})
    if fmt == "qhp":
        entries, removed = qhp_entries(listings, changes, today or dt.date.today())
        bad = dict(qhp_errors(entries)) if entries else {}
        providers = out_dir / f"providers-{slug}.json"
        gone = out_dir / f"providers_removed-{slug}.json"
        _write_atomic(providers, json_lines_array([e for i, e in enumerate(entries) if i not in bad]))
        _write_atomic(gone, json_lines_array(removed))
        paths = [providers, gone]
        if bad:  # an entry the listing data cannot make valid is set aside with its reason, the rest are written
            rejected = out_dir / f"providers_rejected-{slug}.json"
            _write_atomic(rejected, json_lines_array([
                {"npi": entries[i].get("npi"), "error": reason, "entry": entries[i]} for i, reason in sorted(bad.items())
            ]))
            paths.append(rejected)
        return CorrectionsSummary(paths, len(changes), listings_touched, rejected=len(bad))
    bundle = fhir_bundle(listings, changes)
    path = out_dir / f"corrections-{slug}.bundle.json"
    head = json.dumps({k: v for k, v in bundle.items() if k != "entry"}, ensure_ascii=False)
    if bundle["entry"]:  # FHIR forbids empty arrays: a Bundle without changes has no `entry`
        head = head[:-1] + ', "entry": ' + json_lines_array(bundle["entry"]).rstrip("\n") + "}"
    _write_atomic(path, head + "\n")
    return CorrectionsSummary([path], len(changes), listings_touched)
