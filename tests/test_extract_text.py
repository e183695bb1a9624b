"""Visible text: boilerplate, scripts and hidden parts dropped; lists, cells and headings kept as blocks."""

from __future__ import annotations

from crawlers.extract.text import split_sentences, visible_blocks, visible_text

PAGE = """<!doctype html><html><head><title>T</title><style>p{color:red}</style>
<script>var status = "We are accepting new patients";</script></head>
<body class="home has-sidebar">
<header><nav><a href="/">Home</a><a href="/np">Accepting New Patients</a></nav></header>
<div class="cookie-consent">We use cookies. Accept all?</div>
<div class="breadcrumbs">Home / Team</div>
<main>
  <h1>Insurance</h1>
  <p>We accept these plans:</p>
  <ul><li>Aetna</li><li>Cigna <span>PPO</span></li></ul>
  <table><tr><td>Humana</td><td>No</td></tr></table>
  <p hidden>secret hidden text</p>
  <p style="display:none">also hidden</p>
  <template><p>template text</p></template>
  <noscript>enable javascript</noscript>
  <svg><text>svg text</text></svg>
  <p>Line one<br>Line two</p>
</main>
<aside>Sidebar promo</aside>
<footer>Copyright 2024</footer>
</body></html>"""


def test_boilerplate_scripts_and_hidden_text_are_dropped() -> None:
    """Nav, header, footer, aside, cookie and breadcrumb chrome and invisible elements never reach the text."""
    text = visible_text(PAGE)
    for gone in ("var status", "color:red", "Home", "cookies", "Sidebar", "Copyright", "secret", "also hidden",
                 "template text", "enable javascript", "svg text", "Accepting New Patients"):
        assert gone not in text, gone
    assert "We accept these plans:" in text


def test_lists_cells_and_headings_stay_separate_blocks() -> None:
    """Each list item and table cell is its own block, tagged, under the heading it follows."""
    blocks = visible_blocks(PAGE)
    by_text = {b.text: b for b in blocks}
    assert by_text["Insurance"].tag == "h1"
    assert by_text["Aetna"].tag == "li" and by_text["Cigna PPO"].tag == "li"
    assert by_text["Aetna"].group == by_text["Cigna PPO"].group != 0
    assert by_text["Aetna"].heading == "Insurance"
    assert by_text["Humana"].row == by_text["No"].row != 0
    assert by_text["Line one\nLine two"].tag == "p"


def test_keep_boilerplate_keeps_footer_for_contacts() -> None:
    """The contact pass can ask for footer text, which carries phones and addresses."""
    text = " ".join(b.text for b in visible_blocks(PAGE, keep_boilerplate=True))
    assert "Copyright 2024" in text and "var status" not in text


def test_plain_text_paragraphs_and_bullets() -> None:
    """Text without markup splits into paragraphs and one block per bullet, bullets stripped."""
    blocks = visible_blocks("Plans we take:\n• Aetna\n• Cobalt Care\n\nCall us today.")
    assert [(b.text, b.tag) for b in blocks] == [("Plans we take:", "h3"), ("Aetna", "li"), ("Cobalt Care", "li"), ("Call us today.", "p")]
    assert blocks[1].group == blocks[2].group != 0


def test_bytes_with_meta_charset_are_decoded() -> None:
    """Windows-1252 bytes declared in <meta charset> decode to the right characters."""
    body = '<html><head><meta charset="windows-1252"></head><body><p>Caf\u00e9 \u2013 se\u00f1or</p></body></html>'.encode("cp1252")
    assert visible_text(body) == "Caf\u00e9 \u2013 se\u00f1or"


def test_empty_and_garbage_input() -> None:
    """Empty pages and binary junk give no blocks rather than errors."""
    assert visible_blocks("") == []
    assert isinstance(visible_text(b"\x00\xff\xfe garbage \x89PNG"), str)


def test_sentences_do_not_split_after_titles_or_initials() -> None:
    """'Dr.', 'St.' and middle initials do not end a sentence."""
    sentences = [s for s, _ in split_sentences("Dr. Jane Q. Smith sees patients at 12 Main St. in town. She is great!")]
    assert sentences == ["Dr. Jane Q. Smith sees patients at 12 Main St. in town.", "She is great!"]
