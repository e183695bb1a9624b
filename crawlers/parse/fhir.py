"""FHIR Plan-Net / NDH: Bundles and resources -> listing records (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

from crawlers.parse import clean_text, make_listing
from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.npi import is_valid_npi
from reconcile.normalize.specialty import lookup_specialty

NPI_SYSTEMS = ("http://hl7.org/fhir/sid/us-npi", "urn:oid:2.16.840.1.113883.4.6")
NUCC_SYSTEMS = ("http://nucc.org/provider-taxonomy", "urn:oid:2.16.840.1.113883.6.101")
NETWORK_EXT = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/network-reference"
NEWPATIENTS_EXTS = (
    "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition/newpatients",
    "http://hl7.org/fhir/us/ndh/StructureDefinition/base-ext-newpatients",
)
NUCC_CODE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")  # the shape of a NUCC taxonomy code (207Q00000X, 261QP2300X)
SKIPPED_NAME_USES = ("old", "nickname", "anonymous", "maiden")  # HumanName uses never shown as the provider's name
REFERENCED_TYPES = ("Practitioner", "Location", "Organization", "HealthcareService")
Resolver = Callable[[str], "dict[str, Any] | None"]


class BundleError(ValueError):
    """A payload that is not a usable searchset Bundle (reason in the message)."""


@dataclass
class Page:
    """One Bundle page: its PractitionerRoles and every resource it carried, by `Type/id`."""

    roles: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_url: str | None = None
    total: int | None = None


def ref_key(reference: str | None) -> str | None:
    """Normalize a reference ("Location/1", absolute URL, `_history` version) to `Type/id`; None for `#contained`."""
    if not reference or reference.startswith("#"):
        return None
    if reference.count("/") == 1 and "?" not in reference:  # the common relative `Type/id`: no splitting needed
        kind, _, rid = reference.partition("/")
        return reference if kind[:1].isupper() and rid and rid != "_history" else None
    parts = [p for p in reference.split("?")[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper():
        return f"{parts[-2]}/{parts[-1]}"
    return None


def parse_bundle(data: Any, empty_ok: bool = False) -> Page:
    """Validate a searchset Bundle and index it; raise BundleError for wrong shapes.

    A Bundle without `entry` is an empty page when `empty_ok` (a later page: servers paging past the last result
    answer so, `total` or not), else only when its `total` is 0.
    """
    if not isinstance(data, dict):
        raise BundleError(f"expected a JSON object, got {type(data).__name__}")
    kind = data.get("resourceType")
    if kind == "OperationOutcome":
        issues = data.get("issue") or [{}]
        raise BundleError(f"server returned OperationOutcome: {issues[0].get('diagnostics') or issues[0].get('code')}")
    if kind != "Bundle":
        raise BundleError(f"expected resourceType Bundle, got {kind!r}")
    page = Page(total=data.get("total") if isinstance(data.get("total"), int) else None)
    for link in data.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            page.next_url = str(link["url"])
    entries = data.get("entry")
    if entries is None:
        if page.total == 0 or empty_ok:
            return page
        raise BundleError("Bundle has no entry")
    if not isinstance(entries, list):
        raise BundleError("Bundle.entry is not a list")
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not resource.get("resourceType") or not resource.get("id"):
            continue
        page.resources[f"{resource['resourceType']}/{resource['id']}"] = resource
        if resource["resourceType"] == "PractitionerRole":
            page.roles.append(resource)
    return page


def role_references(role: dict[str, Any]) -> list[str]:
    """Every `Type/id` a PractitionerRole points at (practitioner, locations, organization, services, networks).

    Written as plain loops: the crawler runs it for every role of every page.
    """
    references: list[Any] = []
    for name in ("practitioner", "organization"):
        value = role.get(name)
        if isinstance(value, dict):
            references.append(value.get("reference"))
    for name in ("location", "healthcareService"):
        for value in role.get(name) or []:
            if isinstance(value, dict):
                references.append(value.get("reference"))
    for ext in role.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == NETWORK_EXT:
            references.append((ext.get("valueReference") or {}).get("reference"))
    keys = []
    for reference in references:
        key = ref_key(reference)
        if key and key.partition("/")[0] in REFERENCED_TYPES:
            keys.append(key)
    return keys


def missing_references(roles: Iterable[dict[str, Any]], known: Callable[[str], bool]) -> dict[str, list[str]]:
    """Ids to fetch per resource type: referenced by the roles but not `known` (included or cached)."""
    missing: dict[str, dict[str, None]] = {}  # ordered sets: first mention first
    for role in roles:
        for key in role_references(role):
            if not known(key):
                kind, _, rid = key.partition("/")
                missing.setdefault(kind, {})[rid] = None
    return {kind: list(ids) for kind, ids in missing.items()}


# --- Fast page scan: the crawler's view of a search page without building it as Python objects -----------------
# A Plan-Net page holds thousands of resources; the crawler only needs the `next` link, each resource's type, id and
# raw JSON text (spooled as is) and the roles' references. msgspec reads just those fields (the rest is validated
# and skipped); anything outside the common shape returns None and the page takes `parse_bundle` as before.


class _Ref(msgspec.Struct, gc=False):
    """A Reference, as far as the crawler reads it."""

    reference: str | None = None


class _Ext(msgspec.Struct, gc=False):
    """An extension, as far as the crawler reads it (network-reference targets)."""

    url: Any = None
    valueReference: _Ref | None = None


class ScannedResource(msgspec.Struct, gc=False):
    """Type, id and (for PractitionerRole) the reference fields of one resource; other elements are skipped."""

    resourceType: Any = None
    id: Any = None
    practitioner: _Ref | None = None
    organization: _Ref | None = None
    location: list[_Ref] | None = None
    healthcareService: list[_Ref] | None = None
    extension: list[_Ext] | None = None
    contained: Any = None


class _Entry(msgspec.Struct, gc=False):
    """A Bundle entry: its resource's raw JSON text."""

    resource: msgspec.Raw = msgspec.Raw(b"null")


class _Bundle(msgspec.Struct):
    """A search page: link and total decoded, entries kept raw."""

    resourceType: Any = None
    total: Any = None
    link: Any = None
    entry: list[_Entry] | None = None


_BUNDLE = msgspec.json.Decoder(_Bundle)
_RESOURCE = msgspec.json.Decoder(ScannedResource)


@dataclass
class ScannedPage:
    """One Bundle page as the crawler needs it: roles and resources with their raw JSON text (`bytes`)."""

    roles: list[tuple[ScannedResource, bytes]] = field(default_factory=list)
    resources: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # `Type/id` -> (type, raw), as parse_bundle
    next_url: str | None = None
    total: int | None = None
    one_line: bool = True  # no line break anywhere in the page: every raw text is already one NDJSON line


def scan_bundle(body: bytes) -> ScannedPage | None:
    """A search page read like `parse_bundle` without decoding the resources; None when `parse_bundle` must decide.

    None covers everything off the common path (not JSON msgspec accepts, not a Bundle, no entry, an entry or
    resource that is not an object, reference fields in odd shapes): `parse_bundle` then gives the exact outcome.
    """
    try:
        data = _BUNDLE.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if data.resourceType != "Bundle" or data.entry is None:
        return None
    page = ScannedPage(total=data.total if isinstance(data.total, int) else None,
                       one_line=b"\n" not in body and b"\r" not in body)
    if data.link is not None and not isinstance(data.link, list):
        return None
    for link in data.link or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            page.next_url = str(link["url"])
    decode = _RESOURCE.decode
    try:
        for entry in data.entry:
            raw = bytes(entry.resource)
            if raw == b"null":
                continue
            resource = decode(raw)
            kind, rid = resource.resourceType, resource.id
            if not kind or not rid:
                continue
            if not isinstance(kind, str):
                return None
            page.resources[f"{kind}/{rid}"] = (kind, raw)
            if kind == "PractitionerRole":
                page.roles.append((resource, raw))
    except (msgspec.DecodeError, msgspec.ValidationError):  # e.g. a resource that is not an object
        return None
    return page


def _scanned_reference_values(role: ScannedResource) -> list[str | None]:
    """The reference strings `role_references` looks at, in its order."""
    references: list[str | None] = []
    if role.practitioner is not None:
        references.append(role.practitioner.reference)
    if role.organization is not None:
        references.append(role.organization.reference)
    if role.location:
        references += [value.reference for value in role.location]
    if role.healthcareService:
        references += [value.reference for value in role.healthcareService]
    for ext in role.extension or ():
        if ext.url == NETWORK_EXT:
            references.append(ext.valueReference.reference if ext.valueReference is not None else None)
    return references


def scanned_references(role: ScannedResource) -> list[str]:
    """`role_references` of a scanned role (same references, same order)."""
    keys = []
    for reference in _scanned_reference_values(role):
        key = ref_key(reference)
        if key and key[:key.index("/")] in REFERENCED_TYPES:
            keys.append(key)
    return keys


def scanned_missing_references(roles: Iterable[ScannedResource], known: AbstractSet[str],
                               requested: AbstractSet[str] = frozenset()) -> dict[str, list[str]]:
    """`missing_references` of scanned roles, a key being known when it is in `known` or `requested`.

    A plain `Type/id` reference is its own key (see ref_key), so one already known is skipped before parsing it.
    """
    missing: dict[str, dict[str, None]] = {}
    for role in roles:
        for reference in _scanned_reference_values(role):
            if reference is None:
                continue
            if (reference in known or reference in requested) and reference.count("/") == 1 and "?" not in reference:
                continue
            key = ref_key(reference)
            if key and key[:key.index("/")] in REFERENCED_TYPES and key not in known and key not in requested:
                kind, _, rid = key.partition("/")
                missing.setdefault(kind, {})[rid] = None
    return {kind: list(ids) for kind, ids in missing.items()}


def role_listings(role: dict[str, Any], resolve: Resolver, insurer: str, source_url: str,
                  fetched_at: str, payload_sha256: str | None = None) -> list[dict[str, Any]]:
    """Listings of one PractitionerRole: one per location (one with empty address when it has none)."""
    local = _contained_resolver(role, resolve)
    practitioner = local(role.get("practitioner")) or {}
    organization = local(role.get("organization")) or {}
    services = [s for s in (local(r) for r in role.get("healthcareService") or []) if s]
    location_refs = [r for r in role.get("location") or [] if isinstance(r, dict)] or [None]
    name = _human_name(practitioner.get("name"))
    # a practitioner named any way (reference, display or identifier) is a person: the organization's NPI is not theirs
    named = role.get("practitioner")
    has_practitioner = isinstance(named, dict) and bool(
        named.get("reference") or named.get("display") or (named.get("identifier") or {}).get("value"))
    npi = _npi(practitioner) or _npi(role) or (None if has_practitioner else _organization_npi(organization))
    specialty, specialty_code = _specialty(role.get("specialty"))
    networks = _networks(role, local)
    role_key = f"PractitionerRole/{role.get('id')}"
    out = []
    for loc_ref in location_refs:
        location = local(loc_ref) or {}
        loc_key = _ref(loc_ref) or (f"#{location['id']}" if location.get("id") else (loc_ref or {}).get("display") or "")
        service = _service_for(services, loc_key, loc_ref is None)
        status, raw = _accepting(role, service, location)
        address = location.get("address") or {}
        out.append(make_listing(
            insurer, "fhir", f"{role_key}|{loc_key}" if loc_ref else role_key, source_url, fetched_at,
            npi=npi, provider_name=name.get("display") or clean_text(organization.get("name")),
            first_name=name.get("first"), middle_name=name.get("middle"), last_name=name.get("last"),
            credentials=name.get("credentials"), practice_name=clean_text(organization.get("name")),
            address=clean_text(" ".join(str(x) for x in address.get("line") or [])) or clean_text(address.get("text")),
            city=clean_text(address.get("city")), state=clean_text(address.get("state")),
            zip=clean_text(address.get("postalCode")),
            phone=_telecom(role, "phone") or _telecom(location, "phone") or _telecom(service or {}, "phone")
            or _telecom(practitioner, "phone"),
            website=_telecom(role, "url") or _telecom(location, "url") or _telecom(organization, "url")
            or _telecom(practitioner, "url"),
            specialty=specialty, specialty_code=specialty_code, accepting_status=status, accepting_raw=raw,
            networks=networks, last_updated=(role.get("meta") or {}).get("lastUpdated"),
            payload_sha256=payload_sha256, location_name=clean_text(location.get("name")),
            active=role.get("active"),
        ))
    return out


def _ref(value: Any) -> str | None:
    """The `Type/id` of a Reference object (or None)."""
    return ref_key(value.get("reference")) if isinstance(value, dict) else None


def _contained_resolver(role: dict[str, Any], resolve: Resolver) -> Callable[[Any], dict[str, Any] | None]:
    """Resolve Reference objects against the role's `contained` resources first, then `resolve`."""
    contained = {f"#{r['id']}": r for r in role.get("contained") or [] if isinstance(r, dict) and r.get("id")}

    def local(value: Any) -> dict[str, Any] | None:
        """Look up one Reference object."""
        if not isinstance(value, dict):
            return None
        reference = value.get("reference") or ""
        if reference.startswith("#"):
            return contained.get(reference)
        key = ref_key(reference)
        return resolve(key) if key else None

    return local


def _extensions(resource: dict[str, Any] | None, urls: tuple[str, ...]) -> list[dict[str, Any]]:
    """The extensions of `resource` whose url is one of `urls`."""
    return [e for e in (resource or {}).get("extension") or [] if isinstance(e, dict) and e.get("url") in urls]


def _best_name(names: list[Any]) -> Any:
    """The HumanName to show: official, else usual, else the first not old/nickname/anonymous/maiden, else the first."""
    usable = [n for n in names if isinstance(n, dict)]
    for wanted in ("official", "usual"):
        found = next((n for n in usable if n.get("use") == wanted), None)
        if found is not None:
            return found
    return next((n for n in usable if n.get("use") not in SKIPPED_NAME_USES), names[0])


def _human_name(names: Any) -> dict[str, str | None]:
    """Display, first, middle, last and credentials from FHIR HumanName (see `_best_name`)."""
    if not isinstance(names, list) or not names:
        return {}
    chosen = _best_name(names)
    if not isinstance(chosen, dict):
        return {}
    given = [str(g) for g in chosen.get("given") or []]
    family = clean_text(chosen.get("family"))
    suffix = ", ".join(str(s) for s in chosen.get("suffix") or []) or None
    display = clean_text(chosen.get("text"))
    if not display:
        core = " ".join(p for p in [*(chosen.get("prefix") or []), *given, family or ""] if p)
        display = clean_text(f"{core}, {suffix}" if suffix else core)
    return {"display": display, "first": clean_text(given[0]) if given else None,
            "middle": clean_text(" ".join(given[1:])), "last": family, "credentials": suffix}


def system_norm(system: Any) -> str | None:
    """A system URI however a server spells it (case, https, `www.`, a trailing slash), as the known ones are written."""
    if not isinstance(system, str):
        return None
    return re.sub(r"^https?://(www\.)?", "http://", system.strip().lower().rstrip("/"))


def _is_npi(ident: dict[str, Any]) -> bool:
    """An NPI identifier: the NPI system (any spelling) or the v2-0203 identifier type `NPI`."""
    if ident.get("system") in NPI_SYSTEMS or system_norm(ident.get("system")) in NPI_SYSTEMS:
        return True
    codings = (ident.get("type") or {}).get("coding") if isinstance(ident.get("type"), dict) else None
    return any(isinstance(c, dict) and c.get("code") == "NPI" for c in codings or [])


def _npi(resource: dict[str, Any]) -> str | None:
    """The NPI identifier value of a resource (see `_is_npi`)."""
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("value") and _is_npi(ident):
            return clean_text(ident["value"])
    return None


def _organization_npi(organization: dict[str, Any]) -> str | None:
    """The organization's NPI when it is 10 plain digits with a valid check digit (a role naming no practitioner)."""
    npi = _npi(organization)
    return npi if npi and re.fullmatch(r"[0-9]{10}", npi) and is_valid_npi(npi) else None


def _is_nucc(coding: dict[str, Any]) -> bool:
    """A NUCC taxonomy coding: the NUCC system (any spelling), or no system and a taxonomy-shaped code."""
    code, system = coding.get("code"), coding.get("system")
    if not code:
        return False
    if system is None:
        return isinstance(code, str) and NUCC_CODE.fullmatch(code.strip()) is not None
    return system in NUCC_SYSTEMS or system_norm(system) in NUCC_SYSTEMS


def _specialty(concepts: Any) -> tuple[str | None, str | None]:
    """First specialty display and NUCC code (display looked up from the code when missing)."""
    for concept in concepts or []:
        if not isinstance(concept, dict):
            continue
        codings = [c for c in concept.get("coding") or [] if isinstance(c, dict)]
        nucc = next((c for c in codings if _is_nucc(c)), None)
        code = clean_text(nucc.get("code")) if nucc else None
        display = clean_text((nucc or {}).get("display")) or clean_text(concept.get("text"))
        if code and not display:
            found = lookup_specialty(code)
            display = display or (found.display if found else None)
        display = display or next((clean_text(c.get("display")) for c in codings if c.get("display")), None)
        if code or display:
            return display, code
    return None, None


def _telecom(resource: dict[str, Any], system: str) -> str | None:
    """The current telecom value of `system` (phone, url, ...) with the lowest `rank`, else the first current one.

    Current: a value, `use` not old, no `period.end` before today. Fax is a different system and never used.
    """
    today = date.today().isoformat()
    current = [p for p in resource.get("telecom") or [] if isinstance(p, dict) and p.get("system") == system
               and p.get("value") and p.get("use") != "old" and ((p.get("period") or {}).get("end") or "9") >= today]
    ranks = [p["rank"] for p in current if isinstance(p.get("rank"), int)]
    best = next((p for p in current if p.get("rank") == min(ranks)), None) if ranks else None
    best = best or (current[0] if current else None)
    return clean_text(best["value"]) if best else None


def _networks(role: dict[str, Any], local: Callable[[Any], dict[str, Any] | None]) -> list[str]:
    """Network names from the Plan-Net network-reference extension (Organization name, else the reference)."""
    names: list[str] = []
    for ext in _extensions(role, (NETWORK_EXT,)):
        ref = ext.get("valueReference") or {}
        org = local(ref) or {}
        name = clean_text(org.get("name")) or clean_text(ref.get("display")) or ref_key(ref.get("reference"))
        if name and name not in names:
            names.append(name)
    return names


def _service_for(services: list[dict[str, Any]], loc_key: str, no_location: bool = False) -> dict[str, Any] | None:
    """The HealthcareService offered at this location, else one that names no location; for a role without
    location (`no_location`) also its first service (None otherwise)."""
    for service in services:
        if loc_key in {_ref(r) for r in service.get("location") or []}:
            return service
    anywhere = next((s for s in services if not s.get("location")), None)
    return anywhere or (services[0] if no_location and services else None)


def newpatients(resource: dict[str, Any] | None) -> tuple[str, str] | None:
    """Canonical status and verbatim value of a resource's newpatients extension(s), or None."""
    found: list[tuple[str, str, bool]] = []
    for ext in _extensions(resource, NEWPATIENTS_EXTS):
        code, network = None, None
        for sub in ext.get("extension") or []:
            if not isinstance(sub, dict):
                continue
            if sub.get("url") == "acceptingPatients":
                if "valueBoolean" in sub:
                    code = "true" if sub["valueBoolean"] else "false"
                else:
                    concept = sub.get("valueCodeableConcept") or {}
                    coding = next((c for c in concept.get("coding") or [] if c.get("code")), {})
                    code = clean_text(coding.get("code")) or clean_text(concept.get("text"))
            elif sub.get("url") == "fromNetwork":
                ref = sub.get("valueReference") or {}
                network = ref.get("display") or ref.get("reference")
        if code:
            found.append((code, f"{code} (fromNetwork {network})" if network else code, network is None))
    if not found:
        return None
    chosen = next((f for f in found if f[2]), found[0])  # an unscoped statement wins over network-scoped ones
    return normalize_accepting(chosen[0]), "; ".join(f[1] for f in found)


def _accepting(role: dict[str, Any], service: dict[str, Any] | None, location: dict[str, Any]) -> tuple[str, str | None]:
    """Accepting status from PractitionerRole > HealthcareService > Location (most specific wins)."""
    for resource in (role, service, location):
        result = newpatients(resource)
        if result:
            return result
    return "unknown", None
