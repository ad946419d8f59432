"""Drives tickler's MCP server with the official Python MCP SDK (PyPI `mcp`), over streamable
HTTP and over stdio (`tickler mcp`, which relays to the same server).

Run by crates/cli/tests/it/mcp.rs with $TICKLER_TEST_PYTHON. For each transport it lists the
tools, calls every one of them and checks the answers, including tool errors. It prints one
JSON object on stdout: per transport, the ids of the tasks it left behind, for the Rust test
to look up through the REST API. Any failed check exits non-zero with a message.
"""

import argparse
import asyncio
import json
import sys

import httpx2
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

EXPECTED_TOOLS = {
    "create_task",
    "quick_add",
    "list_tasks",
    "get_task",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "list_tags",
    "get_task_history",
    "parse",
}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def text_of(result):
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    check(not result.is_error, f"{name}({arguments}) failed: {text_of(result)}")
    check(isinstance(result.structured_content, dict), f"{name}: no structured content")
    return result.structured_content


async def call_failing(session, name, arguments):
    result = await session.call_tool(name, arguments)
    check(result.is_error, f"{name}({arguments}) should fail but returned {text_of(result)}")
    return text_of(result)


async def exercise(session, label, foreign_task):
    """Calls every tool once (and a few failing calls); returns the ids of the tasks kept."""
    await session.initialize()
    tools = (await session.list_tools()).tools
    names = {tool.name for tool in tools}
    check(names == EXPECTED_TOOLS, f"tools listed: {sorted(names)}")
    for tool in tools:
        check(tool.description, f"{tool.name} has no description")
        check(tool.input_schema.get("type") == "object", f"{tool.name}: schema {tool.input_schema}")
    create_schema = next(tool for tool in tools if tool.name == "create_task").input_schema
    check(create_schema.get("required") == ["title"], f"create_task schema: {create_schema}")

    quick = await call(session, "quick_add", {"text": f"buy milk tomorrow at 5pm #errands ({label})"})
    check(quick["title"] == f"buy milk ({label})", f"quick_add title: {quick['title']}")
    check(quick["tags"] == ["errands"] and quick["due_at"], f"quick_add: {quick}")

    # README 2.10: the request words around a sentence are not part of the title, as over REST.
    wrapped = await call(
        session, "quick_add", {"text": f"please remind me at 6pm to feed the cat ({label}), thanks"}
    )
    check(wrapped["title"] == f"feed the cat ({label})", f"quick_add wrapped title: {wrapped['title']}")
    check(not wrapped["all_day"] and wrapped["reminders"] == ["PT0S"], f"quick_add wrapped: {wrapped}")
    await call(session, "delete_task", {"id": wrapped["id"]})
    spoken = await call(
        session,
        "parse",
        {"text": "add call the dentist tomorrow at 9am", "now": "2026-11-21T12:00:00Z", "tz": "UTC"},
    )
    check(
        spoken["title"] == "call the dentist" and spoken["due_at"] == "2026-11-22T09:00:00Z",
        f"parse wrapped: {spoken}",
    )

    report = await call(
        session,
        "create_task",
        {"title": f"Write report {label}", "priority": "high", "tags": ["work"]},
    )
    check(report["priority"] == "high", f"create_task: {report}")

    found = await call(session, "list_tasks", {"q": f"report {label}"})
    check([task["id"] for task in found["items"]] == [report["id"]], f"list_tasks q: {found}")
    high = await call(session, "list_tasks", {"priority": ["high"], "tags": ["work"]})
    check(report["id"] in [task["id"] for task in high["items"]], f"list_tasks filters: {high}")

    fetched = await call(session, "get_task", {"id": quick["id"]})
    check(fetched == quick, f"get_task: {fetched}")

    renamed = await call(session, "update_task", {"id": quick["id"], "title": f"buy oat milk ({label})"})
    check(renamed["title"] == f"buy oat milk ({label})" and renamed["version"] == 2, f"update_task: {renamed}")

    done = await call(session, "complete_task", {"id": quick["id"]})
    check(done["status"] == "done", f"complete_task: {done}")
    reopened = await call(session, "reopen_task", {"id": quick["id"]})
    check(reopened["status"] == "todo", f"reopen_task: {reopened}")

    tags = await call(session, "list_tags", {})
    check({"errands", "work"} <= {tag["name"] for tag in tags["items"]}, f"list_tags: {tags}")

    parsed = await call(
        session,
        "parse",
        {"text": "call mom tomorrow at 5pm p1", "now": "2026-11-21T12:00:00Z", "tz": "UTC"},
    )
    check(parsed["intent"] == "create_task" and parsed["due_at"] == "2026-11-22T17:00:00Z", f"parse: {parsed}")

    # The audit trail is written by its consumer a moment after each change.
    expected_history = ["tickler.task.created", "tickler.task.updated",
                        "tickler.task.completed", "tickler.task.reopened"]
    history = None
    for _ in range(100):
        result = await session.call_tool("get_task_history", {"id": quick["id"]})
        if not result.is_error:
            history = result.structured_content
            if [item["type"] for item in history["items"]] == expected_history:
                break
        await asyncio.sleep(0.05)
    check(history is not None, "get_task_history never answered")
    types = [item["type"] for item in history["items"]]
    check(types == expected_history, f"get_task_history: {types}")
    check(all(item["origin"] == "mcp" for item in history["items"]), f"history origins: {history}")

    deleted = await call(session, "delete_task", {"id": report["id"]})
    check(deleted == {"deleted": True, "id": report["id"]}, f"delete_task: {deleted}")

    # Errors are tool errors carrying the REST API's messages.
    message = await call_failing(session, "get_task", {"id": report["id"]})
    check(message == "task not found", f"deleted task: {message}")
    message = await call_failing(session, "get_task", {"id": foreign_task})
    check(message == "task not found", f"another user's task: {message}")
    message = await call_failing(session, "complete_task", {"id": "not-an-id"})
    check(message == "task not found", f"malformed id: {message}")
    message = await call_failing(session, "create_task", {"title": "", "priority": "extreme"})
    check(message.startswith("validation failed") and "priority" in message, f"invalid create: {message}")

    return {"kept": quick["id"], "deleted": report["id"]}


async def over_http(url, token, foreign_task):
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(f"{url}/mcp", http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                return await exercise(session, "http", foreign_task)


async def over_stdio(url, token, tickler, foreign_task):
    parameters = StdioServerParameters(
        command=tickler,
        args=["mcp", "--server", url],
        env={"TICKLER_TOKEN": token},
    )
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            return await exercise(session, "stdio", foreign_task)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the server's base URL")
    parser.add_argument("--token", required=True, help="an API token of the acting user")
    parser.add_argument("--tickler", required=True, help="the tickler binary")
    parser.add_argument("--foreign-task", required=True, help="a task of another user")
    arguments = parser.parse_args()
    summary = {
        "http": await over_http(arguments.url, arguments.token, arguments.foreign_task),
        "stdio": await over_stdio(arguments.url, arguments.token, arguments.tickler, arguments.foreign_task),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as error:
        print(f"check failed: {error}", file=sys.stderr)
        sys.exit(1)
