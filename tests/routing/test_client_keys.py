"""A client's key goes only to the provider whose key format it has."""

from trooper.routing.client_keys import key_for_provider


def test_keys_match_their_providers_only():
    claude, openai_key, gemini = "sk-ant-api03-" + "a" * 30, "sk-proj-" + "b" * 30, "AIza" + "c" * 30
    assert key_for_provider("claude", claude) == claude
    assert key_for_provider("openai", claude) is None
    assert key_for_provider("openai", openai_key) == openai_key
    assert key_for_provider("claude", openai_key) is None
    assert key_for_provider("gemini", gemini) == gemini
    assert key_for_provider("ollama", claude) is None


def test_placeholders_are_ignored():
    for placeholder in (None, "", "local", "sk-trooper", "ollama"):
        assert key_for_provider("claude", placeholder) is None
        assert key_for_provider("openai", placeholder) is None
