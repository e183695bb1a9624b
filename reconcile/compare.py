"""Field comparison: turn linked evidence into per-listing verdicts and verdicts into findings (DESIGN "Rules of judgment").

Evidence precedence: practice report (tier 1) > practice website (tier 2) > another directory (tier 3, only
through cross_directory_conflict). Within a tier a provider-level claim beats a practice-level one, then the
newest wins. The winning evidence decides the field: if it agrees with the listing there is no finding even
when weaker evidence disagrees. Formatting never matters because every comparison is on normalized keys
(phone_key, address key / addresses_match, person_names_match, canonical insurer, coarse accepting status).

Severity table (documented, used by every finding):

| finding_type              | severity | why |
|---------------------------|----------|-----|
| provider_not_at_location  | critical | the listed provider cannot be seen there at all (the classic ghost) |
| insurer_not_accepted      | critical | the patient is billed out of network |
| unreachable               | high     | nobody answers the listed number |
| phone                     | high     | the listed number reaches someone else / is not the practice's |
| address                   | high     | the patient travels to the wrong place |
| accepting_status          | high when listed as taking new patients but not, else medium |
| cross_directory_conflict  | medium   | directories disagree; one of them is wrong |
| stale_listing             | low; medium when more than 4x the stale window |

Evidence strength (multiplied by the observation's extraction confidence and the link score = confidence):
reports 0.95 (attestation), 0.9 (secret shopper / phone survey); website explicit statement 0.85, team page
that says the provider left 0.9, complete roster without the provider 0.7, accepted-insurer list without the
insurer 0.6; another directory 0.6; stale_listing 1.0 (the directory's own date).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import NamedTuple

import duckdb

from reconcile.batch import Prepared
from reconcile.link import roster_hits
from reconcile.temp import drop_temp

FIELD_TYPES = {
    "accepting_status": "accepting_status",
    "phone": "phone",
    "address": "address",
    "provider": "provider_not_at_location",
    "insurer": "insurer_not_accepted",
    "reachable": "unreachable",
}
REPORT_STRENGTH_SQL = "CASE o.source WHEN 'attestation' THEN 0.95 ELSE 0.9 END"
TIER_REPORT, TIER_WEBSITE = 1, 2

# The fields as small integer codes inside the evidence table (grouping and sorting on a 1-byte code and the
# integer listing id instead of two strings); temp_rc_verdict gets the names back.
FIELD_CODES = {name: code for code, name in enumerate(FIELD_TYPES)}

# The fields each k_l_o table carries in its structs: only those its branches' verdicts read (the observed values
# are built later, on the winning rows only). Name, links, link fields, listing fields, observation fields, WHERE.
_K_FIELDS = ("lid", "oid", "score", "method")
_EV_TABLES = (
    ("_temp_rc_ev_report", "(SELECT * FROM temp_rc_report_links WHERE level IS DISTINCT FROM 'phone')",
     _K_FIELDS + ("level",), ("insurer", "insurer_canonical", "name_key", "phone_key", "takes"),
     ("source", "takes", "call_outcome", "phone_key", "correct_location", "provider_at_location", "providers",
      "roster_complete", "accepts_plan", "reachable", "observed_at"), ""),
    ("_temp_rc_ev_site", "temp_rc_site_links", _K_FIELDS,
     ("insurer", "insurer_canonical", "name_key", "phone_key", "takes"),
     ("kind", "takes", "providers", "roster_complete", "observed_at"), ""),
    ("_temp_rc_ev_site_provider", "temp_rc_site_provider_links", _K_FIELDS,
     ("insurer", "insurer_canonical", "takes"), ("kind", "takes", "observed_at"), ""),
    # Phone-level report links (most of them) only feed the phone and reachable branches, which need the same
    # phone_key on both sides: only those rows and the fields those two branches read.
    ("_temp_rc_ev_report_phone", "(SELECT * FROM temp_rc_report_links WHERE level = 'phone')", _K_FIELDS,
     ("phone_key",), ("source", "call_outcome", "phone_key", "reachable", "observed_at"),
     "WHERE o.phone_key = l.phone_key"),
)

# The precedence order as one binary key (smallest wins). The last tie-break is the observation's integer id oid,
# numbered in observation_id order (reconcile.batch.dense_ids), so the order is the same as on the string ids.
_PRECEDENCE_KEY = ("create_sort_key(tier, 'ASC NULLS LAST', scope, 'ASC NULLS LAST', observed_at, 'DESC NULLS LAST', "
                   "contradicts, 'DESC NULLS LAST', strength, 'DESC NULLS LAST', oid, 'ASC NULLS LAST')")


class _Branch(NamedTuple):
    """One kind of evidence: SQL over a k_l_o table (structs k, l, o) and its side joins.

    `value` (the observed value) is evaluated on the winning rows only, in the verdict statement, where l and o
    are temp_rc_l / temp_rc_o, v the evidence row (v.contradicts) and sp, sa, r, i the side tables joined there.
    """

    field: str
    tier: int
    scope: int | str
    contradicts: str
    value: str
    strength: str
    source: str  # FROM ... [JOIN ...], the k_l_o table aliased k_l_o
    where: str = "true"


def _joined(links: str, k_fields: tuple[str, ...], l_fields: tuple[str, ...], o_fields: tuple[str, ...],
            where: str = "") -> str:
    """SELECT of a links table joined to its listing and observation, as struct columns k, l, o of the read fields.

    The joins use the link stage's integer surrogate ids lid / oid (same rows as the string ids, cheaper joins);
    the string ids are only joined back onto the winning rows.
    """
    def pack(alias: str, fields: tuple[str, ...]) -> str:
        """struct_pack(f := alias.f, ...) AS alias."""
        return "struct_pack(" + ", ".join(f"{f} := {alias}.{f}" for f in fields) + f") AS {alias}"
    return (f"SELECT {pack('k', k_fields)}, {pack('l', l_fields)}, {pack('o', o_fields)} "
            f"FROM {links} k JOIN temp_rc_l l ON l.lid = k.lid JOIN temp_rc_o o ON o.oid = k.oid {where}")


def _branch_sql(branch: _Branch, code: int) -> str:
    """SELECT of one branch's evidence rows: temp_rc_ev's columns, b = the branch's code (for its observed value)."""
    return (f"SELECT k.lid AS lid, {FIELD_CODES[branch.field]}::UTINYINT AS f, ({branch.tier})::UTINYINT AS tier, "
            f"({branch.scope})::UTINYINT AS scope, o.observed_at AS observed_at, {branch.contradicts} AS contradicts, "
            f"{branch.strength} AS strength, k.oid AS oid, {code}::UTINYINT AS b, k.score AS link_score, "
            f"k.method AS link_method FROM {branch.source} WHERE {branch.where}")


def _branches() -> list[_Branch]:
    """Every kind of evidence, by field (DESIGN "Rules of judgment"), over the k_l_o tables of _EV_TABLES."""
    site_practice, site_provider = "_temp_rc_ev_site k_l_o", "_temp_rc_ev_site_provider k_l_o"
    report, report_phone = "_temp_rc_ev_report k_l_o", "_temp_rc_ev_report_phone k_l_o"
    rep_scope = "CASE k.level WHEN 'provider' THEN 0 ELSE 1 END"
    rep_levels = "k.level IN ('provider', 'practice')"
    not_among = "'not among: ' || array_to_string(o.providers, '; ')"
    ins_value = ("CASE WHEN i.listed_yes THEN i.accepted_shown WHEN i.listed_no THEN 'not accepted: ' || i.refused_shown "
                 "ELSE 'accepted: ' || i.accepted_shown END")
    ins_join = "JOIN _temp_rc_ins i ON i.oid = k.oid AND i.ic = coalesce(l.insurer_canonical, l.insurer)"
    return [
        # accepting status ------------------------------------------------------------------------------------
        _Branch("accepting_status", TIER_REPORT, rep_scope, "o.takes <> l.takes", "o.status", REPORT_STRENGTH_SQL,
                report, f"{rep_levels} AND o.takes IS NOT NULL AND l.takes IS NOT NULL"),
        *(_Branch("accepting_status", TIER_WEBSITE, scope, "o.takes <> l.takes", "o.status", "0.85", source,
                  "o.takes IS NOT NULL AND l.takes IS NOT NULL")
          for scope, source in ((0, site_provider), (1, site_practice))),
        # phone ---------------------------------------------------------------------------------------------------
        *(_Branch("phone", TIER_REPORT, 0, "o.call_outcome = 'wrong_number'",
                  "CASE WHEN o.call_outcome = 'wrong_number' THEN 'wrong number: ' || coalesce(o.phone, '') "
                  "ELSE coalesce(o.phone, '') END", REPORT_STRENGTH_SQL, links,
                  "o.phone_key = l.phone_key AND o.call_outcome IN ('wrong_number', 'reached', 'not_at_location')")
          for links in (report, report_phone)),
        _Branch("phone", TIER_WEBSITE, 1, "NOT list_contains(sp.keys, l.phone_key)", "sp.shown", "0.85",
                f"{site_practice} JOIN _temp_rc_site_phones sp ON sp.oid = k.oid", "l.phone_key IS NOT NULL"),
        # address -------------------------------------------------------------------------------------------------
        _Branch("address", TIER_REPORT, rep_scope, "NOT o.correct_location",
                "CASE WHEN o.correct_location THEN l.address_display ELSE 'not at this address' END",
                REPORT_STRENGTH_SQL, report, f"{rep_levels} AND o.correct_location IS NOT NULL"),
        _Branch("address", TIER_WEBSITE, 1, "NOT h.hit", "sa.shown", "0.85",
                f"{site_practice} JOIN _temp_rc_site_addr_hit h ON h.lid = k.lid AND h.oid = k.oid"),
        # provider at location -------------------------------------------------------------------------------------
        _Branch("provider", TIER_REPORT, 0, "o.call_outcome = 'not_at_location' OR o.provider_at_location = false",
                "CASE WHEN o.call_outcome = 'not_at_location' OR o.provider_at_location = false "
                "THEN 'not at this location' ELSE 'at this location' END", REPORT_STRENGTH_SQL, report,
                "k.level = 'provider' AND (o.call_outcome = 'not_at_location' OR o.provider_at_location IS NOT NULL)"),
        # on the roster exactly when it does not contradict
        _Branch("provider", TIER_REPORT, 1, "NOT coalesce(r.on_roster, false)",
                f"CASE WHEN v.contradicts THEN {not_among} ELSE l.name_text END", REPORT_STRENGTH_SQL,
                f"{report} LEFT JOIN _temp_rc_rep_roster r ON r.lid = k.lid AND r.oid = k.oid",
                f"{rep_levels} AND o.roster_complete AND len(o.providers) > 0 AND l.name_key IS NOT NULL"),
        _Branch("provider", TIER_WEBSITE, 0, "false", "l.name_text", "0.85", site_provider),
        _Branch("provider", TIER_WEBSITE, 1,
                "coalesce(r.departed, false) OR (o.roster_complete AND len(o.providers) > 0 "
                "AND NOT coalesce(r.on_roster, false))",
                "CASE WHEN r.departed THEN 'left the practice: ' || r.departed_name "
                f"WHEN coalesce(r.on_roster, false) THEN l.name_text ELSE {not_among} END",
                "CASE WHEN r.departed THEN 0.9 WHEN coalesce(r.on_roster, false) THEN 0.85 ELSE 0.7 END",
                f"{site_practice} LEFT JOIN _temp_rc_site_roster r ON r.lid = k.lid AND r.oid = k.oid",
                "l.name_key IS NOT NULL AND (r.departed OR r.on_roster OR (o.roster_complete AND len(o.providers) > 0))"),
        # insurer ------------------------------------------------------------------------------------------------
        _Branch("insurer", TIER_REPORT, rep_scope, "NOT o.accepts_plan",
                "CASE WHEN o.accepts_plan THEN l.insurer ELSE 'does not accept ' || l.insurer END",
                REPORT_STRENGTH_SQL, report, f"{rep_levels} AND o.accepts_plan IS NOT NULL"),
        _Branch("insurer", TIER_REPORT, rep_scope, "NOT coalesce(i.listed_yes, false)", ins_value,
                f"CASE WHEN i.listed_yes OR i.listed_no THEN {REPORT_STRENGTH_SQL} ELSE 0.6 END",
                f"{report} {ins_join}",
                f"{rep_levels} AND o.accepts_plan IS NULL AND (i.listed_yes OR i.listed_no OR i.has_list)"),
        *(_Branch("insurer", TIER_WEBSITE, "CASE WHEN o.kind = 'site_provider' THEN 0 ELSE 1 END",
                  "NOT coalesce(i.listed_yes, false)", ins_value,
                  "CASE WHEN i.listed_yes OR i.listed_no THEN 0.85 ELSE 0.6 END", f"{source} {ins_join}",
                  "i.listed_yes OR i.listed_no OR i.has_list") for source in (site_practice, site_provider)),
        # reachability -----------------------------------------------------------------------------------------------
        *(_Branch("reachable", TIER_REPORT, 0, "NOT o.reachable",
                  "CASE WHEN o.reachable THEN coalesce(o.call_outcome, 'reached') "
                  "ELSE coalesce(o.call_outcome, 'unreachable') END", REPORT_STRENGTH_SQL, links,
                  "o.phone_key = l.phone_key AND o.reachable IS NOT NULL") for links in (report, report_phone)),
    ]


def _verdict_sql(branches: list[_Branch]) -> str:
    """SELECT of temp_rc_verdict from temp_rc_ev: per (listing, field) the winning row by the precedence order.

    arg_min of the row id by the precedence key, grouped on the integer listing id and field code (a narrow
    aggregate that spills), instead of a window over the evidence rows; only the winning rows are read back and
    joined to their listing and observation for the string ids, the verbatim evidence and the observed value
    (built here, by the winning row's branch b, from the side tables that branch read).
    The verbatim evidence (evidence_url / evidence_text / evidence_sha256) is kept on contradicting verdicts only:
    those are the ones findings report (compare.field_findings_sql); agreeing verdicts need only their value.
    """
    names = ", ".join(f"'{name}'" for name in FIELD_TYPES)
    values = " ".join(f"WHEN {code} THEN {b.value}" for code, b in enumerate(branches))

    def only(alias: str) -> str:
        """v.oid on the rows whose branch's observed value reads side table `alias`, else NULL (joins nothing).

        A join key rather than a condition on v.b in the ON clause: that would make DuckDB's LEFT JOIN a nested loop.
        """
        codes = ", ".join(str(code) for code, b in enumerate(branches) if re.search(rf"\b{alias}\.", b.value))
        return f"CASE WHEN v.b IN ({codes or 'NULL'}) THEN v.oid END"
    evidence = ", ".join(f"CASE WHEN v.contradicts THEN o.{c} END AS {c}"
                         for c in ("evidence_url", "evidence_text", "evidence_sha256"))
    # which statement of a website's per-field evidence a contradiction rests on (see site_field_evidence)
    evidence += (f", CASE WHEN v.contradicts AND o.source = 'website' THEN CASE [{names}][v.f + 1] "
                 "WHEN 'insurer' THEN i.refused_raw WHEN 'provider' THEN split_part(r.departed_name, '; ', 1) END "
                 "END AS evidence_key")
    return f"""
        WITH winner AS (
            SELECT arg_min(rowid, {_PRECEDENCE_KEY}) AS rid FROM temp_rc_ev GROUP BY lid, f
        ), v AS (
            SELECT * FROM temp_rc_ev WHERE rowid IN (SELECT rid FROM winner)
        )
        SELECT l.listing_id, [{names}][v.f + 1] AS field, CAST(v.tier AS INTEGER) AS tier,
               CAST(v.scope AS INTEGER) AS scope, v.observed_at, v.contradicts, CASE v.b {values} END AS observed_value,
               o.observation_id, v.strength, o.extraction_confidence, v.link_score, v.link_method, o.source, {evidence}
        FROM v JOIN temp_rc_l l ON l.lid = v.lid JOIN temp_rc_o o ON o.oid = v.oid
        LEFT JOIN _temp_rc_site_phones sp ON sp.oid = {only('sp')}
        LEFT JOIN _temp_rc_site_addr_shown sa ON sa.oid = {only('sa')}
        LEFT JOIN _temp_rc_site_roster r ON r.lid = v.lid AND r.oid = {only('r')}
        LEFT JOIN _temp_rc_ins i ON i.oid = {only('i')} AND i.ic = coalesce(l.insurer_canonical, l.insurer)
    """


def _side_tables(con: duckdb.DuckDBPyConnection, prep: Prepared) -> None:
    """The per-page and per-pair TEMP tables the branches join: roster hits, shown phones/addresses, insurer lists."""
    roster_hits(con, prep, "(SELECT lid, oid FROM temp_rc_report_links WHERE level IN ('provider','practice'))",
                 "_temp_rc_rep_roster")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_phones AS
        SELECT oid, list(DISTINCT phone_key) AS keys, string_agg(DISTINCT raw, '; ' ORDER BY raw) AS shown
        FROM temp_rc_o_phone WHERE oid IN (SELECT oid FROM temp_rc_site_links) GROUP BY oid
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_addr_shown AS
        SELECT oid, string_agg(DISTINCT raw, ' | ' ORDER BY raw) AS shown
        FROM temp_rc_o_addr WHERE oid IN (SELECT oid FROM temp_rc_site_links) GROUP BY oid
        """
    )
    # What a site shows depends on the page only (above, once per page); whether it matches depends on the listing.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_addr_hit AS
        SELECT sl.lid, sl.oid, bool_or(a.addr_key = l.addr_key OR coalesce(m.ok, false)) AS hit
        FROM temp_rc_site_links sl JOIN temp_rc_l l ON l.lid = sl.lid JOIN temp_rc_o_addr a ON a.oid = sl.oid
        LEFT JOIN temp_rc_addr_match m ON m.a_key = l.addr_key AND m.b_key = a.addr_key
        WHERE l.addr_key IS NOT NULL GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_ins AS
        WITH shown AS (  -- what the page lists depends on the page only: once per page, not per insurer
            SELECT oid, bool_or(accepted) AS has_list,
                   string_agg(DISTINCT raw, '; ' ORDER BY raw) FILTER (WHERE accepted) AS accepted_shown,
                   string_agg(DISTINCT raw, '; ' ORDER BY raw) FILTER (WHERE NOT accepted) AS refused_shown
            FROM temp_rc_o_ins GROUP BY oid
        ), listed AS (
            SELECT i.oid, l.ic, bool_or(i.accepted AND i.canonical = l.ic) AS listed_yes,
                   bool_or(NOT i.accepted AND i.canonical = l.ic) AS listed_no,
                   min(i.raw) FILTER (WHERE NOT i.accepted AND i.canonical = l.ic) AS refused_raw
            FROM temp_rc_o_ins i CROSS JOIN (SELECT DISTINCT coalesce(insurer_canonical, insurer) AS ic FROM temp_rc_l) l
            GROUP BY i.oid, l.ic
        )
        SELECT listed.oid, listed.listed_yes, listed.listed_no, shown.has_list, shown.accepted_shown,
               shown.refused_shown, listed.refused_raw, listed.ic
        FROM listed JOIN shown USING (oid)
        """
    )
    # Each kind of link is joined to its listing and observation ONCE (TEMP tables of _EV_TABLES, only the columns
    # the branches read, as structs k / l / o so the branches read k.score, l.takes, o.takes as they would off the
    # tables); the branches then scan those instead of repeating the three-way join per field.
    for name, links, k_fields, l_fields, o_fields, where in _EV_TABLES:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_joined(links, k_fields, l_fields, o_fields, where)}")


def build_evidence(con: duckdb.DuckDBPyConnection, prep: Prepared) -> None:
    """TEMP table temp_rc_verdict: per (listing, field) the deciding piece of evidence and whether it contradicts.

    Every piece of evidence (one row per listing, field and observation: temp_rc_ev, integer ids and no text)
    competes by the precedence above; the winner's observed value and verbatim evidence are joined on after.
    """
    _side_tables(con, prep)
    branches = _branches()
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_ev AS "
                + " UNION ALL ".join(_branch_sql(b, code) for code, b in enumerate(branches)))
    drop_temp(con, "_temp_rc_ev_report", "_temp_rc_ev_report_phone", "_temp_rc_ev_site", "_temp_rc_ev_site_provider")
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_verdict AS " + _verdict_sql(branches))
    site_field_evidence(con)
    drop_temp(con, "temp_rc_ev", "_temp_rc_site_phones", "_temp_rc_site_addr_hit", "_temp_rc_site_addr_shown",
              "_temp_rc_ins", "_temp_rc_rep_roster", "_temp_rc_roster_pairs")


_EVIDENCE_ENTRY = {"name": "VARCHAR", "url": "VARCHAR", "text": "VARCHAR", "sha256": "VARCHAR"}
# from_json structure of a website record's raw.field_evidence
_FIELD_EVIDENCE = json.dumps({"phone": _EVIDENCE_ENTRY, "address": _EVIDENCE_ENTRY, "insurers": [_EVIDENCE_ENTRY],
                              "accepted": _EVIDENCE_ENTRY, "departed": [_EVIDENCE_ENTRY], "roster": _EVIDENCE_ENTRY})


def site_field_evidence(con: duckdb.DuckDBPyConnection) -> None:
    """Give website contradictions the evidence of their own field (crawlers.extract.site.field_evidence).

    A practice site's record carries one evidence snippet, its accepting-status claim's; a phone, address, insurer
    or provider finding instead quotes the contact line, the "no longer accept X" sentence (or the accepted list),
    the departure notice (or the team page). Records without per-field evidence keep the record's.
    """
    con.execute(f"""
        UPDATE temp.temp_rc_verdict SET evidence_url = e.ev.url, evidence_text = e.ev.text,
                                        evidence_sha256 = e.ev.sha256
        FROM (
            SELECT v.listing_id, v.field, CASE v.field
                       WHEN 'phone' THEN fe.phone WHEN 'address' THEN fe.address
                       WHEN 'insurer' THEN coalesce(list_filter(fe.insurers, x -> x.name = v.evidence_key)[1],
                                                    CASE WHEN v.evidence_key IS NULL THEN fe.accepted END)
                       WHEN 'provider' THEN coalesce(list_filter(fe.departed, x -> x.name = v.evidence_key)[1],
                                                     CASE WHEN v.evidence_key IS NULL THEN fe.roster END) END AS ev
            FROM temp.temp_rc_verdict v
            JOIN (SELECT observation_id, any_value(from_json(json_extract(raw, '$.field_evidence'),
                                                              '{_FIELD_EVIDENCE}')) AS fe
                  FROM observations
                  WHERE source = 'website' AND observation_id IN (
                      SELECT observation_id FROM temp.temp_rc_verdict WHERE contradicts AND source = 'website')
                  GROUP BY observation_id) o USING (observation_id)
            WHERE v.contradicts AND v.source = 'website' AND o.fe IS NOT NULL
        ) e
        WHERE e.ev IS NOT NULL AND temp_rc_verdict.listing_id = e.listing_id AND temp_rc_verdict.field = e.field
    """)


def field_findings_sql() -> str:
    """SELECT of the findings decided by the verdicts (every type except stale and cross-directory)."""
    cases = " ".join(f"WHEN '{f}' THEN '{t}'" for f, t in FIELD_TYPES.items())
    return f"""
        SELECT CASE v.field {cases} END AS finding_type, l.insurer, l.listing_id, l.npi, l.name_text AS provider_name,
               l.address_display AS address, v.field,
               CASE v.field WHEN 'accepting_status' THEN l.status WHEN 'phone' THEN l.phone
                            WHEN 'reachable' THEN l.phone WHEN 'address' THEN l.address_display
                            WHEN 'provider' THEN l.name_text WHEN 'insurer' THEN l.insurer END AS directory_value,
               v.observed_value, v.source AS evidence_source, v.evidence_url, v.evidence_text, v.observed_at,
               CASE WHEN v.field IN ('provider', 'insurer') THEN 'critical'
                    WHEN v.field = 'accepting_status' AND NOT l.takes THEN 'medium' ELSE 'high' END AS severity,
               round(v.strength * v.extraction_confidence * v.link_score, 4) AS confidence,
               v.evidence_sha256, v.observation_id, v.link_method, v.link_score
        FROM temp_rc_verdict v JOIN temp_rc_l l USING (listing_id)
        WHERE v.contradicts AND l.role = 'audited'
    """


def stale_findings_sql(as_of: dt.date, stale_days: int) -> str:
    """SELECT of stale_listing findings: the directory's own last-updated date is older than the window."""
    return f"""
        SELECT 'stale_listing' AS finding_type, l.insurer, l.listing_id, l.npi, l.name_text AS provider_name,
               l.address_display AS address, 'last_updated' AS field,
               strftime(l.last_updated, '%Y-%m-%d') AS directory_value,
               (DATE '{as_of.isoformat()}' - CAST(l.last_updated AS DATE)) || ' days old on '
                   || '{as_of.isoformat()}' AS observed_value,
               'directory' AS evidence_source, l.source_url AS evidence_url,
               'last updated ' || strftime(l.last_updated, '%Y-%m-%d') AS evidence_text, l.fetched_at AS observed_at,
               CASE WHEN DATE '{as_of.isoformat()}' - CAST(l.last_updated AS DATE) > {4 * stale_days}
                    THEN 'medium' ELSE 'low' END AS severity,
               1.0 AS confidence, NULL AS evidence_sha256, NULL AS observation_id, NULL AS link_method,
               NULL::DOUBLE AS link_score
        FROM temp_rc_l l
        WHERE l.role = 'audited' AND l.last_updated IS NOT NULL
          AND CAST(l.last_updated AS DATE) < DATE '{as_of.isoformat()}' - INTERVAL {int(stale_days)} DAY
    """
