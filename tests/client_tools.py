"""The tool definitions tests send as clients, in each SDK's shape."""

from __future__ import annotations

#: A weather look-up as an Anthropic client defines it.
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
#: The same tool as an OpenAI client defines it.
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"],
    },
}
