"""CMS QHP provider JSON (index.json, providers.json entries) -> listing records (pure functions)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from crawlers.parse import clean_text, make_listing, sha256_json
from reconcile.normalize.accepting import normalize_accepting
from reconcile.normalize.npi import clean_npi, is_valid_npi


class EntryError(ValueError):
    """A providers.json entry that cannot become a listing (reason in the message)."""


def index_urls(index: Any, base_url: str) -> tuple[list[str], list[str]]:
    """provider_urls and plan_urls of a QHP index.json (relative URLs resolved against `base_url`)."""
    if not isinstance(index, dict):
        raise EntryError(f"index.json must be a JSON object, got {type(index).__name__}")
    providers = index.get("provider_urls")
    if not isinstance(providers, list) or not providers:
        raise EntryError("index.json has no provider_urls list")
    plans = index.get("plan_urls") if isinstance(index.get("plan_urls"), list) else []
    def clean(urls: list[Any]) -> list[str]:
        """Absolute, de-duplicated URLs in published order."""
        return list(dict.fromkeys(urljoin(base_url, u.strip()) for u in urls if isinstance(u, str) and u.strip()))

    return clean(providers), clean(plans)


def _name(entry: dict[str, Any]) -> dict[str, str | None]:
    """Display and split names of an INDIVIDUAL (name object) or FACILITY (facility_name)."""
    name = entry.get("name")
    if isinstance(name, dict):
        first, middle, last = (clean_text(name.get(k)) for k in ("first", "middle", "last"))
        prefix, suffix = clean_text(name.get("prefix")), clean_text(name.get("suffix"))
        core = " ".join(p for p in (prefix, first, middle, last) if p)
        display = f"{core}, {suffix}" if suffix and core else core or None
        return {"display": display, "first": first, "middle": middle, "last": last, "credentials": suffix}
    if isinstance(name, str):
        return {"display": clean_text(name)}
    return {"display": clean_text(entry.get("facility_name"))}


def _iterable(value: Any) -> Any:
    """What `value or []` iterates (lists, strings, objects' keys); [] for numbers and booleans, which do not iterate."""
    return value if isinstance(value, (list, str, dict)) and value else []


def _plans(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Plans with network tier and years, as published."""
    plans = []
    for plan in _iterable(entry.get("plans")):
        if isinstance(plan, dict) and plan.get("plan_id"):
            plans.append({
                "plan_id": clean_text(plan.get("plan_id")), "plan_id_type": clean_text(plan.get("plan_id_type")),
                "network_tier": clean_text(plan.get("network_tier")),
                "years": [y for y in _iterable(plan.get("years")) if isinstance(y, (int, str))],
            })
    return plans


def _addresses(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The entry's addresses: its `addresses` list, else the single `address` of the first CMS schema (an object, a
    list of them, or one line of text); the entry's own `phone` (that schema's place for it) fills an address
    without one. At least one (empty) address, so every entry gives a listing."""
    listed = [a for a in _iterable(entry.get("addresses")) if isinstance(a, dict)]
    if not listed:
        single = entry.get("address")
        if isinstance(single, dict):
            listed = [single]
        elif isinstance(single, list):
            listed = [a for a in single if isinstance(a, dict)]
        elif isinstance(single, str) and single.strip():
            listed = [{"address": single}]
    phone = entry.get("phone")
    if phone in (None, ""):
        return listed or [{}]
    return [{**a, "phone": phone} if a.get("phone") in (None, "") else a for a in listed] or [{"phone": phone}]


def _accepting(value: Any) -> str | None:
    """The accepting value as published: a JSON boolean (the first CMS schema's `true` / `false`) in JSON spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return clean_text(value)


def _strings(value: Any) -> list[str]:
    """A list of non-blank strings from a list or a single string."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (clean_text(v) for v in items) if t]


def provider_listings(entry: Any, insurer: str, source_url: str, fetched_at: str,
                      index: int, payload_sha256: str | None = None) -> list[dict[str, Any]]:
    """Listings of one providers.json entry: one per address; raise EntryError for unusable entries.

    `payload_sha256` is the hash of the providers file the entry came from (with `index`, kept in
    `raw.entry_index`, it points at exactly what was published); without it, the entry's own JSON is hashed.
    """
    if not isinstance(entry, dict):
        raise EntryError(f"entry is a {type(entry).__name__}, expected an object")
    raw_npi = entry.get("npi")
    if raw_npi in (None, ""):
        wrapped = [k for k, v in entry.items() if isinstance(v, list) and v and isinstance(v[0], dict) and "npi" in v[0]]
        if wrapped:  # e.g. {"providers": [...]}: the file must be the array itself (or JSON Lines of entries)
            raise EntryError(f"an object wrapping provider entries under {wrapped[0]!r}, not a provider entry: "
                             "expected a JSON array of entries")
        raise EntryError("entry has no npi")
    npi = clean_npi(raw_npi if not isinstance(raw_npi, float) else int(raw_npi))
    if not npi or not is_valid_npi(npi):
        raise EntryError(f"invalid NPI {raw_npi!r}")
    name = _name(entry)
    if not name.get("display"):
        raise EntryError("entry has neither name nor facility_name")
    addresses = _addresses(entry)
    specialties = _strings(entry.get("specialty"))
    plans = _plans(entry)
    accepting_raw = _accepting(entry.get("accepting"))
    payload = payload_sha256 or sha256_json(entry)
    out = []
    for position, address in enumerate(addresses):
        line = " ".join(t for t in (clean_text(address.get("address")), clean_text(address.get("address_2"))) if t)
        out.append(make_listing(
            insurer, "qhp", f"{npi}|{position}", source_url, fetched_at,
            npi=npi, provider_name=name["display"], first_name=name.get("first"), middle_name=name.get("middle"),
            last_name=name.get("last"), credentials=name.get("credentials"),
            practice_name=name["display"] if str(entry.get("type", "")).upper() == "FACILITY" else None,
            address=line or None, city=clean_text(address.get("city")), state=clean_text(address.get("state")),
            zip=clean_text(address.get("zip")), phone=clean_text(address.get("phone")),
            specialty=specialties[0] if specialties else None, specialties=specialties,
            accepting_status=normalize_accepting(accepting_raw) if accepting_raw else "unknown",
            accepting_raw=accepting_raw, plans=plans,
            networks=sorted({p["plan_id"] for p in plans if p["plan_id"]}),
            languages=_strings(entry.get("languages")), gender=clean_text(entry.get("gender")),
            provider_type=clean_text(entry.get("type")), facility_type=_strings(entry.get("facility_type")),
            last_updated=clean_text(entry.get("last_updated_on")), payload_sha256=payload, entry_index=index,
        ))
    return out
