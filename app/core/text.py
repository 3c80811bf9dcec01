"""How the contract compares and bounds names: one definition for the API, the rules and the
importer (whose parser process imports nothing but this and the vocabularies)."""

REF_MAX = 200  # characters of a `ref`
NAME_MAX = 500  # characters of a name or an alias
KEY_NAME_MAX = 200  # characters of an API key's name (also the author of a change)


def fold(text: str) -> str:
    """The case-insensitive key of a name or alias (Unicode-aware, unlike SQLite's lower())."""
    return text.casefold()
