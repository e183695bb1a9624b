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

_EV_COLUMNS = (
    "listing_id, field, tier, scope, observed_at, contradicts, observed_value, observation_id, strength, "
    "extraction_confidence, link_score, link_method"
)

_K_FIELDS = ("listing_id", "observation_id", "score", "method")
_L_FIELDS = ("listing_id", "address_display", "insurer", "insurer_canonical", "name_key", "name_text", "phone_key",
             "takes")
_O_FIELDS = ("observation_id", "source", "kind", "takes", "status", "call_outcome", "phone", "phone_key",
             "correct_location", "provider_at_location", "providers", "roster_complete", "accepts_plan", "reachable",
             "observed_at", "extraction_confidence")


_L_PHONE_FIELDS = ("listing_id", "phone_key")
_O_PHONE_FIELDS = ("observation_id", "source", "call_outcome", "phone", "phone_key", "reachable", "observed_at",
                   "extraction_confidence")


def _joined(links: str, extra: tuple[str, ...] = (), l_fields: tuple[str, ...] = _L_FIELDS,
            o_fields: tuple[str, ...] = _O_FIELDS, where: str = "") -> str:
    """SELECT of a links table joined to its listing and observation, as struct columns k, l, o of the read fields.

    The joins use the link stage's integer surrogate ids lid / oid (same rows as the string ids, cheaper joins).
    """
    def pack(alias: str, fields: tuple[str, ...]) -> str:
        """struct_pack(f := alias.f, ...) AS alias."""
        return "struct_pack(" + ", ".join(f"{f} := {alias}.{f}" for f in fields) + f") AS {alias}"
    return (f"SELECT {pack('k', _K_FIELDS + extra)}, {pack('l', l_fields)}, {pack('o', o_fields)} "
            f"FROM {links} k JOIN temp_rc_l l ON l.lid = k.lid JOIN temp_rc_o o ON o.oid = k.oid {where}")


def _ev(select: str) -> str:
    """Wrap the UNION ALL of evidence branches (all in the first branch's column order) into temp_rc_ev's column order."""
    return f"SELECT {_EV_COLUMNS} FROM ({select})"


def _obs_cols(link: str = "k") -> str:
    """The evidence columns every branch copies from the observation and its link (the verbatim evidence is
    joined only onto the winning rows, keeping temp_rc_ev narrow at national scale)."""
    return (f"o.observed_at AS observed_at, o.observation_id AS observation_id, "
            f"o.extraction_confidence AS extraction_confidence, {link}.score AS link_score, "
            f"{link}.method AS link_method")


def build_evidence(con: duckdb.DuckDBPyConnection, prep: Prepared) -> None:
    """TEMP table temp_rc_verdict: per (listing, field) the deciding piece of evidence and whether it contradicts.

    Every piece of evidence (one row per listing, field and observation) competes by the precedence above.
    """
    roster_hits(con, prep, "(SELECT lid, oid FROM temp_rc_report_links WHERE level IN ('provider','practice'))",
                 "_temp_rc_rep_roster")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_phones AS
        SELECT observation_id, list(DISTINCT phone_key) AS keys, string_agg(DISTINCT raw, '; ' ORDER BY raw) AS shown
        FROM temp_rc_o_phone WHERE observation_id IN (SELECT observation_id FROM temp_rc_site_links) GROUP BY observation_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_addr_shown AS
        SELECT observation_id, string_agg(DISTINCT raw, ' | ' ORDER BY raw) AS shown
        FROM temp_rc_o_addr WHERE observation_id IN (SELECT observation_id FROM temp_rc_site_links) GROUP BY observation_id
        """
    )
    # What a site shows depends on the page only (above, once per page); whether it matches depends on the listing.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_site_addr_hit AS
        SELECT sl.listing_id, sl.observation_id,
               bool_or(a.addr_key = l.addr_key OR coalesce(m.ok, false)) AS hit
        FROM temp_rc_site_links sl JOIN temp_rc_l l USING (listing_id) JOIN temp_rc_o_addr a ON a.observation_id = sl.observation_id
        LEFT JOIN temp_rc_addr_match m ON m.a_key = l.addr_key AND m.b_key = a.addr_key
        WHERE l.addr_key IS NOT NULL GROUP BY ALL
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _temp_rc_ins AS
        SELECT i.observation_id, bool_or(i.accepted AND i.canonical = l.ic) AS listed_yes,
               bool_or(NOT i.accepted AND i.canonical = l.ic) AS listed_no, bool_or(i.accepted) AS has_list,
               string_agg(DISTINCT i.raw, '; ' ORDER BY i.raw) FILTER (WHERE i.accepted) AS accepted_shown,
               string_agg(DISTINCT i.raw, '; ' ORDER BY i.raw) FILTER (WHERE NOT i.accepted) AS refused_shown,
               l.ic
        FROM temp_rc_o_ins i CROSS JOIN (SELECT DISTINCT coalesce(insurer_canonical, insurer) AS ic FROM temp_rc_l) l
        GROUP BY i.observation_id, l.ic
        """
    )
    # Each kind of link is joined to its listing and observation ONCE (TEMP tables below, only the columns the
    # branches read, as structs k / l / o so the branches read k.score, l.takes, o.status as they would off the
    # tables); the branches then scan those instead of repeating the three-way join per field.
    site_practice, site_provider = "_temp_rc_ev_site k_l_o", "_temp_rc_ev_site_provider k_l_o"
    report = "_temp_rc_ev_report k_l_o"
    # Phone-level report links (most of them) only feed the phone and reachable branches, which need the same
    # phone_key on both sides: their own narrow table, only those rows and the fields those two branches read.
    report_phone = "_temp_rc_ev_report_phone k_l_o"
    rep_scope = "CASE k.level WHEN 'provider' THEN 0 ELSE 1 END"
    branches = [
        # accepting status ------------------------------------------------------------------------------------
        f"""SELECT l.listing_id AS listing_id, 'accepting_status' AS field, {TIER_REPORT} AS tier, {rep_scope} AS scope,
                   o.takes <> l.takes AS contradicts, o.status AS observed_value, {REPORT_STRENGTH_SQL} AS strength,
                   {_obs_cols()} FROM {report}
            WHERE k.level IN ('provider', 'practice') AND o.takes IS NOT NULL AND l.takes IS NOT NULL""",
        f"""SELECT l.listing_id, 'accepting_status', {TIER_WEBSITE}, 0, o.takes <> l.takes, o.status, 0.85,
                   {_obs_cols()} FROM {site_provider} WHERE o.takes IS NOT NULL AND l.takes IS NOT NULL""",
        f"""SELECT l.listing_id, 'accepting_status', {TIER_WEBSITE}, 1, o.takes <> l.takes, o.status, 0.85,
                   {_obs_cols()} FROM {site_practice} WHERE o.takes IS NOT NULL AND l.takes IS NOT NULL""",
        # phone ---------------------------------------------------------------------------------------------------
        *(f"""SELECT l.listing_id, 'phone', {TIER_REPORT}, 0, o.call_outcome = 'wrong_number',
                   CASE WHEN o.call_outcome = 'wrong_number' THEN 'wrong number: ' || coalesce(o.phone, '')
                        ELSE coalesce(o.phone, '') END, {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {links} WHERE o.phone_key = l.phone_key
              AND o.call_outcome IN ('wrong_number', 'reached', 'not_at_location')""" for links in (report, report_phone)),
        f"""SELECT l.listing_id, 'phone', {TIER_WEBSITE}, 1, NOT list_contains(sp.keys, l.phone_key), sp.shown, 0.85,
                   {_obs_cols()} FROM {site_practice} JOIN _temp_rc_site_phones sp ON sp.observation_id = o.observation_id
            WHERE l.phone_key IS NOT NULL""",
        # address -------------------------------------------------------------------------------------------------
        f"""SELECT l.listing_id, 'address', {TIER_REPORT}, {rep_scope}, NOT o.correct_location,
                   CASE WHEN o.correct_location THEN l.address_display ELSE 'not at this address' END,
                   {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {report} WHERE k.level IN ('provider', 'practice') AND o.correct_location IS NOT NULL""",
        f"""SELECT l.listing_id, 'address', {TIER_WEBSITE}, 1, NOT h.hit, sa.shown, 0.85, {_obs_cols()}
            FROM {site_practice} JOIN _temp_rc_site_addr_hit h ON h.listing_id = k.listing_id
                 AND h.observation_id = k.observation_id
            JOIN _temp_rc_site_addr_shown sa ON sa.observation_id = k.observation_id""",
        # provider at location -------------------------------------------------------------------------------------
        f"""SELECT l.listing_id, 'provider', {TIER_REPORT}, 0,
                   o.call_outcome = 'not_at_location' OR o.provider_at_location = false,
                   CASE WHEN o.call_outcome = 'not_at_location' OR o.provider_at_location = false
                        THEN 'not at this location' ELSE 'at this location' END, {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {report} WHERE k.level = 'provider'
              AND (o.call_outcome = 'not_at_location' OR o.provider_at_location IS NOT NULL)""",
        f"""SELECT l.listing_id, 'provider', {TIER_REPORT}, 1, NOT coalesce(r.on_roster, false),
                   CASE WHEN r.on_roster THEN l.name_text ELSE 'not among: ' || array_to_string(o.providers, '; ') END,
                   {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {report} LEFT JOIN _temp_rc_rep_roster r ON r.listing_id = k.listing_id AND r.observation_id = k.observation_id
            WHERE k.level IN ('provider', 'practice') AND o.roster_complete AND len(o.providers) > 0
              AND l.name_key IS NOT NULL""",
        f"""SELECT l.listing_id, 'provider', {TIER_WEBSITE}, 0, false, l.name_text, 0.85, {_obs_cols()}
            FROM {site_provider}""",
        f"""SELECT l.listing_id, 'provider', {TIER_WEBSITE}, 1,
                   coalesce(r.departed, false) OR (o.roster_complete AND len(o.providers) > 0
                                                   AND NOT coalesce(r.on_roster, false)),
                   CASE WHEN r.departed THEN 'left the practice: ' || r.departed_name
                        WHEN coalesce(r.on_roster, false) THEN l.name_text
                        ELSE 'not among: ' || array_to_string(o.providers, '; ') END,
                   CASE WHEN r.departed THEN 0.9 WHEN coalesce(r.on_roster, false) THEN 0.85 ELSE 0.7 END,
                   {_obs_cols()}
            FROM {site_practice}
            LEFT JOIN _temp_rc_site_roster r ON r.listing_id = k.listing_id AND r.observation_id = k.observation_id
            WHERE l.name_key IS NOT NULL
              AND (r.departed OR r.on_roster OR (o.roster_complete AND len(o.providers) > 0))""",
        # insurer ------------------------------------------------------------------------------------------------
        f"""SELECT l.listing_id, 'insurer', {TIER_REPORT}, {rep_scope}, NOT o.accepts_plan,
                   CASE WHEN o.accepts_plan THEN l.insurer ELSE 'does not accept ' || l.insurer END,
                   {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {report} WHERE k.level IN ('provider', 'practice') AND o.accepts_plan IS NOT NULL""",
        f"""SELECT l.listing_id, 'insurer', {TIER_REPORT}, {rep_scope}, NOT coalesce(i.listed_yes, false),
                   CASE WHEN i.listed_yes THEN i.accepted_shown WHEN i.listed_no THEN 'not accepted: ' || i.refused_shown
                        ELSE 'accepted: ' || i.accepted_shown END,
                   CASE WHEN i.listed_yes OR i.listed_no THEN {REPORT_STRENGTH_SQL} ELSE 0.6 END, {_obs_cols()}
            FROM {report} JOIN _temp_rc_ins i ON i.observation_id = o.observation_id
                 AND i.ic = coalesce(l.insurer_canonical, l.insurer)
            WHERE k.level IN ('provider', 'practice') AND o.accepts_plan IS NULL
              AND (i.listed_yes OR i.listed_no OR i.has_list)""",
        f"""SELECT l.listing_id, 'insurer', {TIER_WEBSITE}, CASE WHEN o.kind = 'site_provider' THEN 0 ELSE 1 END,
                   NOT coalesce(i.listed_yes, false),
                   CASE WHEN i.listed_yes THEN i.accepted_shown WHEN i.listed_no THEN 'not accepted: ' || i.refused_shown
                        ELSE 'accepted: ' || i.accepted_shown END,
                   CASE WHEN i.listed_yes OR i.listed_no THEN 0.85 ELSE 0.6 END, {_obs_cols()}
            FROM (SELECT * FROM _temp_rc_ev_site UNION ALL SELECT * FROM _temp_rc_ev_site_provider) k_l_o
            JOIN _temp_rc_ins i ON i.observation_id = o.observation_id AND i.ic = coalesce(l.insurer_canonical, l.insurer)
            WHERE i.listed_yes OR i.listed_no OR i.has_list""",
        # reachability -----------------------------------------------------------------------------------------------
        *(f"""SELECT l.listing_id, 'reachable', {TIER_REPORT}, 0, NOT o.reachable,
                   CASE WHEN o.reachable THEN coalesce(o.call_outcome, 'reached')
                        ELSE coalesce(o.call_outcome, 'unreachable') END, {REPORT_STRENGTH_SQL}, {_obs_cols()}
            FROM {links} WHERE o.phone_key = l.phone_key AND o.reachable IS NOT NULL""" for links in (report, report_phone)),
    ]
    # Each links table joined to its listing and observation once (TEMP tables: DuckDB spills them at national
    # scale), then all evidence rows (temp_rc_ev), then the winner per (listing, field) by the precedence order:
    # arg_min of the row id by one binary sort key (a narrow aggregate that spills) instead of a window over the
    # wide evidence rows (half the CPU), then only the winning rows are read back.
    not_phone = "(SELECT * FROM temp_rc_report_links WHERE level IS DISTINCT FROM 'phone')"
    for name, links, extra in (("_temp_rc_ev_report", not_phone, ("level",)),
                               ("_temp_rc_ev_site", "temp_rc_site_links", ()),
                               ("_temp_rc_ev_site_provider", "temp_rc_site_provider_links", ())):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {_joined(links, extra)}")
    con.execute("CREATE OR REPLACE TEMP TABLE _temp_rc_ev_report_phone AS " + _joined(
        "(SELECT * FROM temp_rc_report_links WHERE level = 'phone')", ("level",), _L_PHONE_FIELDS, _O_PHONE_FIELDS,
        "WHERE o.phone_key = l.phone_key"))
    con.execute("CREATE OR REPLACE TEMP TABLE temp_rc_ev AS " + _ev(" UNION ALL ".join(branches)))
    drop_temp(con, "_temp_rc_ev_report", "_temp_rc_ev_report_phone", "_temp_rc_ev_site", "_temp_rc_ev_site_provider")
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE temp_rc_verdict AS
        WITH winner AS (
            SELECT arg_min(rowid, create_sort_key(tier, 'ASC NULLS LAST', scope, 'ASC NULLS LAST',
                                                  observed_at, 'DESC NULLS LAST', contradicts, 'DESC NULLS LAST',
                                                  strength, 'DESC NULLS LAST', observation_id, 'ASC NULLS LAST')) AS rid
            FROM temp_rc_ev GROUP BY listing_id, field
        ), best AS (
            SELECT * FROM temp_rc_ev WHERE rowid IN (SELECT rid FROM winner)
        )
        SELECT b.*, o.source, o.evidence_url, o.evidence_text, o.evidence_sha256
        FROM best b JOIN temp_rc_o o USING (observation_id)
        """
    )
    drop_temp(con, "temp_rc_ev", "_temp_rc_site_phones", "_temp_rc_site_addr_hit", "_temp_rc_site_addr_shown", "_temp_rc_ins", "_temp_rc_rep_roster",
              "_temp_rc_roster_pairs")


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


def cross_findings_sql() -> str:
    """SELECT of cross_directory_conflict findings: same NPI at the same practice, different status/phone/address.

    On the listing whose value the practice's evidence contradicts; when neither listing has practice
    evidence for the field, on each listing of the disagreement.
    """
    return """
        WITH pairs AS (
            SELECT left_id AS a, right_id AS b, score, method FROM temp_rc_dir_links
            UNION ALL SELECT right_id, left_id, score, method FROM temp_rc_dir_links
        ), diffs AS (
            SELECT p.a, p.b, p.score, p.method, f.field,
                   CASE f.field WHEN 'accepting_status' THEN la.status WHEN 'phone' THEN la.phone
                                ELSE la.address_display END AS a_value,
                   CASE f.field WHEN 'accepting_status' THEN lb.status WHEN 'phone' THEN lb.phone
                                ELSE lb.address_display END AS b_value,
                   lb.insurer AS b_insurer, lb.source_url AS b_url, lb.fetched_at AS b_fetched
            FROM pairs p JOIN temp_rc_l la ON la.listing_id = p.a JOIN temp_rc_l lb ON lb.listing_id = p.b
            CROSS JOIN (VALUES ('accepting_status'), ('phone'), ('address')) f(field)
            LEFT JOIN temp_rc_addr_match m ON m.a_key = la.addr_key AND m.b_key = lb.addr_key
            LEFT JOIN temp_rc_addr_match m2 ON m2.a_key = lb.addr_key AND m2.b_key = la.addr_key
            WHERE CASE f.field
                    WHEN 'accepting_status' THEN la.takes IS NOT NULL AND lb.takes IS NOT NULL AND la.takes <> lb.takes
                    WHEN 'phone' THEN la.phone_key IS NOT NULL AND lb.phone_key IS NOT NULL AND la.phone_key <> lb.phone_key
                    ELSE la.addr_key IS NOT NULL AND lb.addr_key IS NOT NULL AND la.addr_key <> lb.addr_key
                         AND NOT coalesce(m.ok, m2.ok, false) END
        ), placed AS (
            SELECT d.*, va.contradicts AS a_wrong, vb.contradicts AS b_wrong FROM diffs d
            LEFT JOIN temp_rc_verdict va ON va.listing_id = d.a AND va.field = d.field
            LEFT JOIN temp_rc_verdict vb ON vb.listing_id = d.b AND vb.field = d.field
        )
        SELECT 'cross_directory_conflict' AS finding_type, l.insurer, l.listing_id, l.npi,
               l.name_text AS provider_name, l.address_display AS address, p.field, p.a_value AS directory_value,
               p.b_value AS observed_value, 'directory:' || p.b_insurer AS evidence_source, p.b_url AS evidence_url,
               p.b_insurer || ' lists ' || p.field || ': ' || p.b_value AS evidence_text, p.b_fetched AS observed_at,
               'medium' AS severity, round(0.6 * p.score, 4) AS confidence, NULL AS evidence_sha256,
               p.b AS observation_id, p.method AS link_method, p.score AS link_score
        FROM placed p JOIN temp_rc_l l ON l.listing_id = p.a
        WHERE l.role = 'audited'
          AND ((p.a_wrong IS NULL AND p.b_wrong IS NULL) OR p.a_wrong OR (p.a_wrong IS NULL AND p.b_wrong = false))
        QUALIFY row_number() OVER (PARTITION BY l.listing_id, p.field ORDER BY p.score DESC, p.b_fetched DESC, p.b) = 1
    """
