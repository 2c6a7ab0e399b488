"""Chunking: every format gives the same shape, sections follow headings, ids survive edits."""

from __future__ import annotations

import pytest

from retrieval.documents import chunk_document, pack_paragraphs, parse_document
from skinsage.errors import KnowledgeError

MARKDOWN = """# Niacinamide (Vitamin B3)

Niacinamide is a **versatile** ingredient. See [our guide](https://example.com/guide).

## Can I use it with vitamin C?

Yes. The old worry comes from
heated lab studies.

## Side effects

- mild redness
- flushing at 10%

### At high strength

Some people flush at 10% or above.
"""

HTML = """<!DOCTYPE html><html><head><title>Shipping Policy | SkinSage</title>
<style>p { color: red }</style><script>var x = "<p>not text</p>";</script></head>
<body><nav>Home | Shop</nav>
<h1>Shipping Policy</h1><p>We ship from Utrecht.</p>
<h2>How much does shipping cost?</h2>
<ul><li><strong>Standard:</strong> EUR 4.95.</li><li>Free from EUR 49.</li></ul>
<h2>How long does delivery take?</h2><h3>Zone 1: Netherlands</h3><p>1&ndash;2 business days.</p>
<table><tr><th>Zone</th><th>Days</th></tr><tr><td>2</td><td>2-4</td></tr></table>
</body></html>"""

TEXT = """PATCH TESTING: A GUIDE
======================

A patch test means trying a product on a small
area first.


WHERE SHOULD I DO A PATCH TEST?
-------------------------------

Choose a small area:

  * behind the ear, or
  * the inner forearm.
"""


def test_markdown_sections_follow_the_heading_path_and_the_title_is_not_a_section() -> None:
    chunks = chunk_document(parse_document("ingredients/niacinamide.md", MARKDOWN))
    assert [c.section for c in chunks] == [
        "Niacinamide (Vitamin B3)", "Can I use it with vitamin C?", "Side effects",
        "Side effects › At high strength"]
    assert all(c.title == "Niacinamide (Vitamin B3)" and c.doc == "ingredients/niacinamide.md" for c in chunks)
    assert chunks[0].text == "Niacinamide is a versatile ingredient. See our guide (https://example.com/guide)."
    assert chunks[1].text == "Yes. The old worry comes from heated lab studies."   # hard wraps joined
    assert chunks[2].text == "- mild redness\n- flushing at 10%"


def test_html_keeps_headings_lists_and_tables_and_drops_scripts_styles_and_navigation() -> None:
    chunks = chunk_document(parse_document("policies/shipping.html", HTML))
    by_section = {c.section: c.text for c in chunks}
    assert chunks[0].title == "Shipping Policy"
    assert by_section["Shipping Policy"] == "We ship from Utrecht."
    assert by_section["How much does shipping cost?"] == "- Standard: EUR 4.95.\n- Free from EUR 49."
    zone_1 = by_section["How long does delivery take? › Zone 1: Netherlands"]
    assert zone_1 == "1–2 business days.\n\nZone | Days\n2 | 2-4"
    assert not any("not text" in c.text or "color" in c.text or "Home" in c.text for c in chunks)


def test_html_without_h1_takes_its_title_from_the_title_tag() -> None:
    doc = parse_document("faq/x.html", "<html><head><title>Gift Cards | SkinSage</title></head>"
                                       "<body><h2>Valid?</h2><p>3 years.</p></body></html>")
    assert doc.title == "Gift Cards"


def test_plain_text_understands_underlined_headings_and_bullets() -> None:
    chunks = chunk_document(parse_document("guides/patch-testing.txt", TEXT))
    assert chunks[0].title == "Patch testing: a guide"
    assert [c.section for c in chunks] == ["Patch testing: a guide", "Where should I do a patch test?"]
    assert chunks[0].text == "A patch test means trying a product on a small area first."
    assert chunks[1].text == "Choose a small area:\n\n- behind the ear, or\n- the inner forearm."


def test_tiny_paragraphs_are_packed_and_huge_ones_split_at_sentence_ends() -> None:
    assert pack_paragraphs(["a" * 50, "b" * 50], max_chars=200) == ["a" * 50 + "\n\n" + "b" * 50]
    long = " ".join(f"Sentence number {i} is here." for i in range(100))
    pieces = pack_paragraphs([long], max_chars=300, min_chars=50)
    assert len(pieces) > 5 and all(len(p) <= 300 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == long


def test_a_small_tail_merges_back_instead_of_becoming_its_own_chunk() -> None:
    assert len(pack_paragraphs(["x" * 900, "y" * 40], max_chars=920, min_chars=100)) == 1


def test_chunk_ids_are_doc_section_and_ordinal_so_editing_one_section_keeps_the_others() -> None:
    before = chunk_document(parse_document("a.md", MARKDOWN))
    after = chunk_document(parse_document("a.md", MARKDOWN.replace("flushing at 10%", "flushing at 12%")))
    assert [c.id for c in before] == [c.id for c in after]
    assert before[1].id == "a.md#can-i-use-it-with-vitamin-c#0"
    changed = [a.id for a, b in zip(before, after, strict=True) if a.content_hash != b.content_hash]
    assert changed == ["a.md#side-effects#0"]


def test_repeated_headings_get_distinct_ids() -> None:
    doc = parse_document("a.md", "# T\n\n## Tips\n\none\n\n## Tips\n\ntwo\n")
    assert [c.id for c in chunk_document(doc)] == ["a.md#tips#0", "a.md#tips#1"]


def test_unsupported_formats_are_reported_with_the_file_name() -> None:
    with pytest.raises(KnowledgeError, match="notes.pdf"):
        parse_document("notes.pdf", "%PDF")
