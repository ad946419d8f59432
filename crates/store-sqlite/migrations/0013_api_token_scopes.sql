-- What a personal API token may do: space-separated scopes among `read`, `write`, `mcp`.
-- Tokens created before scopes existed keep every scope.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'read write mcp';
