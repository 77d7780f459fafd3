"""Sphinx configuration of the Charmed OVN docs site (`tox -e docs`)."""

import sys
from pathlib import Path

# The local extension that renders the charms' charmcraft.yaml into the reference.
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Charmed OVN"
author = "The Charmed OVN maintainers"
copyright = "2026, the Charmed OVN maintainers"
html_title = "Charmed OVN documentation"

extensions = [
    "canonical_sphinx",  # Canonical's theme; loads myst_parser
    "sphinxcontrib.spelling",
    "charm_reference",
]

# Markdown (MyST) only. Headings get anchors so pages can link to a section: page.md#section.
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build", "_ext", "requirements.txt", "README.md"]

# canonical-sphinx's header and feedback links point at a repository; this one has no public home.
html_context = {"product_page": "", "github_url": "", "github_issues": "", "discourse": "", "display_contributors": False}
disable_feedback_button = True

# Spelling: US English (hunspell-en-us) plus the project's words.
spelling_lang = "en_US"
spelling_word_list_filename = ".wordlist.txt"
spelling_show_suggestions = False
spelling_ignore_pypi_package_names = False
spelling_ignore_contributor_names = False

# `-b linkcheck` is offline here: only links inside the site are checked.
linkcheck_ignore = [r"https?://.*", r"mailto:.*"]
