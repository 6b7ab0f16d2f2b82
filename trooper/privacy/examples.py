"""Values vendors and standards publish for everyone to copy into documentation and tests: a
detector that flags them annoys people reading documentation, and they guard nothing."""

from __future__ import annotations

PUBLISHED_EXAMPLES = frozenset(
    {
        # AWS's documentation key pair
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        # Stripe's documented test key
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "pk_test_TYooMQauvdEDq54NiTphI7jx",
        # payment networks' and Stripe's test card numbers
        "4242424242424242", "4000056655665556", "4111111111111111", "4012888888881881", "5555555555554444",
        "5200828282828210", "5105105105105100", "378282246310005", "371449635398431", "6011111111111117",
        "6011000990139424", "3056930009020004", "36227206271667", "3566002020360505", "6200000000000005",
        # the textbook IBANs
        "DE89370400440532013000", "GB82WEST12345698765432", "GB29NWBK60161331926819", "FR1420041010050500013M02606",
    }
)  # fmt: skip


def is_published_example(value: str) -> bool:
    """True for a documentation value, however it is grouped (``4242 4242 4242 4242``)."""
    return value.replace(" ", "").replace("-", "") in PUBLISHED_EXAMPLES or value in PUBLISHED_EXAMPLES
