"""Pure parts of the practice-website crawl: link choice, seeds, the rendering decision, page snapshots."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from crawlers.landing import write_records
from crawlers.sites.evidence import content_sha256, read_snapshot, snapshot_path, store_page
from crawlers.sites.links import choose_links, page_key, score_link
from crawlers.sites.rendering import needs_rendering, should_render, static_text
from crawlers.sites.seeds import (
    collect_seeds, dedupe_seeds, make_seed, path_root, read_sites_csv, same_site, site_key, SeedError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "sites"


def fixture(name: str) -> str:
    """Text of a fixture page."""
    return (FIXTURES / name).read_text(encoding="utf-8")


# ---- links --------------------------------------------------------------------------------------------------

def test_links_best_first_and_junk_left_out() -> None:
    """New patients, insurance and team pages come first; PDFs, portals, mail/tel, legal and blog links never."""
    base = "https://maplestreetfm.example/"
    chosen = choose_links(fixture("home.html"), base, "maplestreetfm.example", "/", limit=10)
    urls = [link.url for link in chosen]
    assert urls[:3] == [base + "new-patients", base + "insurance-billing.html", base + "our-team/"]
    assert base + "contact-us" in urls
    for junk in ("packet.pdf", "portal.", "mailto:", "tel:", "privacy", "careers", "flu-shots"):
        assert not any(junk in url for url in urls), junk


def test_links_limit_seen_and_path_root() -> None:
    """The budget is respected, pages already fetched are skipped, and links outside the site root are not followed."""
    html = ('<a href="/clinic/a/insurance">Insurance</a><a href="/clinic/b/insurance">Insurance</a>'
            '<a href="/clinic/a/new-patients">New patients</a><a href="/clinic/a/team">Our providers</a>'
            '<a href="https://www.example.org/clinic/a/contact">Contact</a>')
    base = "https://example.org/clinic/a/"
    chosen = choose_links(html, base, "example.org", "/clinic/a/", limit=2,
                          seen={page_key("https://example.org/clinic/a/new-patients")})
    assert [link.url for link in chosen] == ["https://example.org/clinic/a/insurance", "https://example.org/clinic/a/team"]
    everything = choose_links(html, base, "example.org", "/clinic/a/", limit=10)
    assert "https://www.example.org/clinic/a/contact" in [link.url for link in everything]  # www. is the same site
    assert not any("/clinic/b/" in link.url for link in everything)


def test_links_one_of_each_kind_before_a_second_of_one() -> None:
    """Several provider pages do not crowd out the insurance page."""
    html = "".join(f'<a href="/providers/dr-{n}">Our physicians: Dr. {n}</a>' for n in "abcdef")
    html += '<a href="/billing">Billing</a>'
    chosen = choose_links(html, "http://x.example/", "x.example", "/", limit=3)
    assert "http://x.example/billing" in [link.url for link in chosen]


def test_frameset_content_comes_first() -> None:
    """An old frameset site's frames are fetched before anything else (the text lives there)."""
    html = ('<frameset cols="20%,80%"><frame src="menu.html"><frame src="main.html"></frameset>'
            '<noframes><a href="insurance.html">Insurance</a></noframes>')
    chosen = choose_links(html, "http://old.example/", "old.example", "/", limit=3)
    assert {link.url for link in chosen[:2]} == {"http://old.example/menu.html", "http://old.example/main.html"}


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (("/insurance", "Accepted Insurance"), ("/about", "About Us")),
        (("/new-patients", "New Patients"), ("/contact", "Contact")),
        (("/p/123", "Meet the doctors"), ("/news", "Latest news")),
        (("/locations", "Our Locations"), ("/gallery", "Photo gallery")),
    ],
)
def test_link_scores_order(better: tuple[str, str], worse: tuple[str, str]) -> None:
    """Link text and URL rank the pages a directory can be wrong about above the rest."""
    assert score_link("http://x.example" + better[0], better[1])[0] > score_link("http://x.example" + worse[0], worse[1])[0]


# ---- seeds --------------------------------------------------------------------------------------------------

def test_site_identity_is_registered_domain_plus_path_root() -> None:
    """www/sub-domains and index files collapse; distinct folders of a big site stay distinct."""
    assert site_key("http://www.Example.co.uk/") == site_key("https://example.co.uk/index.html")
    assert site_key("https://bighealth.org/locations/springfield") != site_key("https://bighealth.org/locations/shelbyville/")
    assert path_root("https://bighealth.org/locations/springfield") == "/locations/springfield/"
    assert site_key("http://127.0.0.1:8001/") != site_key("http://127.0.0.1:8002/")
    assert same_site("https://www.bighealth.org/locations/springfield/team", "bighealth.org", "/locations/springfield/")
    assert not same_site("https://bighealth.org/careers", "bighealth.org", "/locations/springfield/")


@pytest.mark.parametrize("bad", ["", "mailto:office@example.com", "ftp://example.com/", "call us", "http://:80/"])
def test_bad_seed_urls_rejected(bad: str) -> None:
    """Values that are not websites raise SeedError (they go to quarantine)."""
    with pytest.raises(SeedError):
        make_seed(bad)


def test_sites_csv_header_variants_bad_rows_and_dedupe(tmp_path: Path) -> None:
    """Spreadsheet headers are tolerated, bad rows are quarantined with file and row, duplicates collapse."""
    csv_path = tmp_path / "sites.csv"
    csv_path.write_bytes(
        "\ufeffPractice Name;Website URL;Telephone;Street Address;NPI\n"
        "Maple Street FM;www.maplestreetfm.example;217-555-0100;12 Maple St;1234567893.0\n"
        "Bad Row Clinic;mailto:frontdesk@example.com;;;\n"
        "Maple again;https://maplestreetfm.example/index.html;;;1588667638\n"
        ";;;;\n"
        "Lakeside;https://lakeside.example/peds;312-555-0142;;\n".encode("utf-8")
    )
    seeds, bad = read_sites_csv(str(csv_path))
    assert [(q["file"], q["row"]) for q in bad] == [(str(csv_path), 3)]
    assert "mailto" in bad[0]["raw_text"]
    deduped = dedupe_seeds(seeds)
    assert [s.url for s in deduped] == ["http://www.maplestreetfm.example/", "https://lakeside.example/peds"]
    assert deduped[0].practice_name == "Maple Street FM" and deduped[0].phone == "217-555-0100"
    assert deduped[0].npis == ["1234567893", "1588667638"]


def test_sites_csv_without_url_column_is_quarantined_whole(tmp_path: Path) -> None:
    """A file with no URL column is one quarantine record naming the file, not a crash."""
    csv_path = tmp_path / "sites.csv"
    csv_path.write_text("name,phone\nA,1\n", encoding="utf-8")
    seeds, bad = read_sites_csv(str(csv_path))
    assert seeds == [] and bad[0]["file"] == str(csv_path) and "URL" in bad[0]["error"]


def test_seeds_from_directory_listings(tmp_path: Path) -> None:
    """Websites in listings landing files become seeds, merged with the CSV's seeds per site."""
    landing = str(tmp_path / "landing")
    write_records(landing, "listings", "Acme Health", "run1", [
        {"listing_id": "a", "npi": "1234567893", "website": "https://maplestreetfm.example/", "practice_name": "Maple"},
        {"listing_id": "b", "npi": "1588667638", "website": "http://www.maplestreetfm.example"},
        {"listing_id": "c", "npi": "1111111111", "website": None},
        {"listing_id": "d", "website": "https://other.example/drsmith"},
    ])
    csv_path = tmp_path / "sites.csv"
    csv_path.write_text("url,practice_name\nhttps://lakeside.example/,Lakeside\n", encoding="utf-8")
    seeds, bad = collect_seeds([str(csv_path)], landing_root=landing)
    assert bad == []
    assert [s.site_key for s in seeds] == ["lakeside.example", "maplestreetfm.example", "other.example/drsmith"]
    assert seeds[1].npis == ["1234567893", "1588667638"]
    passed, _ = collect_seeds([], listings=[{"website": "clinic.example"}])
    assert [s.url for s in passed] == ["http://clinic.example/"]


# ---- rendering decision -------------------------------------------------------------------------------------

def test_rendering_decision() -> None:
    """Only the app shell is sent to the browser under auto; always/never force it."""
    shell = fixture("js_shell.html")
    home = fixture("home.html")
    assert needs_rendering(shell)
    assert not needs_rendering(home)
    assert not needs_rendering("<html><body><p>Site under construction</p></body></html>")
    assert needs_rendering('<html><body><div id="app"><!-- app --></div><script src="/a.js"></script></body></html>')
    assert should_render("always", home, rendered=False) and not should_render("always", home, rendered=True)
    assert not should_render("never", shell, rendered=False)
    assert "enable JavaScript" not in static_text(shell)


def test_static_text_keeps_block_elements_apart() -> None:
    """Text of neighbouring elements stays separate words (the evidence snippet read "Suite 4Springfield")."""
    html = ("<html><body><h1>Maple Family Medicine</h1><nav><a>Home</a><a>About</a></nav>"
            "<p>Suite 4</p><p>Springfield, IL</p></body></html>")
    assert static_text(html) == "Maple Family Medicine Home About Suite 4 Springfield, IL"


# ---- evidence snapshots -------------------------------------------------------------------------------------

@pytest.mark.parametrize("root_kind", ["local", "memory"])
def test_snapshot_written_once_and_rereadable(tmp_path: Path, root_kind: str) -> None:
    """A page is kept gzip-compressed under its content hash and reads back byte for byte."""
    root = str(tmp_path / "landing") if root_kind == "local" else f"memory://snap-{tmp_path.name}"
    body = (FIXTURES / "cp1252.html").read_bytes()
    sha, path = store_page(root, body)
    assert sha == content_sha256(body) and path == snapshot_path(root, sha)
    assert path.endswith(f"/pages/{sha[:2]}/{sha}.html.gz")
    assert read_snapshot(path) == body
    assert store_page(root, body) == (sha, path)
    if root_kind == "local":
        files = list((tmp_path / "landing" / "pages").rglob("*"))
        assert [f.name for f in files if f.is_file()] == [f"{sha}.html.gz"]
        assert gzip.decompress(Path(path).read_bytes()) == body
