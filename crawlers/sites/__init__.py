"""Practice-website crawling helpers: seeds, link choice, rendering decision, evidence storage."""
