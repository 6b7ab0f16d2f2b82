"""Names of technologies the SITREP recognises as entities.

A closed vocabulary, on purpose: entity extraction by word shape (suffixes, capitals) turns
ordinary words ("check", "work", "fallback") into entities. Keys are lowercase spellings,
values the canonical name reported.
"""

from __future__ import annotations

_CANONICAL = """
postgres mysql mariadb sqlite redis memcached mongodb cassandra dynamodb elasticsearch opensearch
clickhouse snowflake bigquery redshift duckdb cockroachdb neo4j influxdb timescaledb supabase firebase
kafka rabbitmq nats zeromq celery sidekiq airflow dagster prefect dbt pgbouncer pgx pgxpool sqlalchemy
alembic prisma sequelize typeorm hibernate gorm diesel sqlx psycopg psycopg2 asyncpg libpq jdbc odbc
python javascript typescript java kotlin scala golang c++ c# ruby php perl haskell elixir erlang clojure
lua bash zsh powershell sql graphql wasm webassembly solidity fortran cobol ocaml zig
django flask fastapi starlette tornado aiohttp httpx requests pydantic pytest hypothesis unittest mypy
ruff black flake8 pylint poetry pipenv conda pip uv numpy pandas scipy matplotlib seaborn plotly
jupyter jupyterlab ipywidgets scikit-learn sklearn pytorch tensorflow keras jax xgboost lightgbm
huggingface transformers langchain llamaindex openai anthropic claude gpt-4 gpt-4o ollama llama.cpp
vllm gguf onnx cuda triton spacy nltk
node.js nodejs npm yarn pnpm deno bun react vue angular svelte next.js nuxt vite webpack esbuild babel
eslint prettier jest vitest mocha cypress playwright selenium puppeteer tailwind bootstrap jquery
express.js nestjs redux graphql-js apollo axios
spring springboot rails laravel symfony gin echo fiber actix tokio axum rocket serde cargo rustc
gradle maven junit dotnet .net asp.net blazor
docker podman kubernetes helm terraform ansible pulumi vagrant nginx apache haproxy envoy traefik
caddy istio linkerd prometheus grafana loki jaeger opentelemetry datadog sentry splunk kibana logstash
aws ec2 s3 lambda ecs eks rds cloudfront cloudwatch iam sqs sns gcp gke azure heroku vercel netlify
cloudflare fly.io digitalocean github gitlab bitbucket jenkins circleci travis github-actions argocd
git linux ubuntu debian alpine centos macos windows wsl systemd cron ssh tls ssl oauth jwt saml ldap
grpc protobuf websocket websockets csv parquet avro css latex openapi swagger s3fs minio ffmpeg imagemagick opencv pillow
vim neovim vscode emacs intellij pycharm xcode android ios swiftui flutter
stripe twilio sendgrid slack discord jira notion
yaml pyarrow gunicorn uvicorn freezegun pendulum beautifulsoup bs4 scrapy excel pip certbot pgbouncer
shellcheck stylelint staticcheck golangci-lint hadolint kubeconform kubeval tflint tfsec checkov trivy
rubocop rspec minitest capybara isort pyright clippy rustfmt gofmt govulncheck xunit nunit nsubstitute
mockito pytest-xdist pytest-asyncio fakeredis testcontainers localstack k6 locust gatling jmeter
pg_dump pg_restore pg_stat_statements jq yq kustomize skaffold flyway liquibase pgvector qdrant milvus
pinecone weaviate faiss statsmodels colab storybook turbopack renovate dependabot sentry-sdk
safari firefox chromium webkit jdk jre openjdk graalvm
"""

_ALIASES = {
    "postgresql": "postgres",
    "psql": "postgres",
    "pg": "postgres",
    "mongo": "mongodb",
    "elastic": "elasticsearch",
    "k8s": "kubernetes",
    "kubectl": "kubernetes",
    "js": "javascript",
    "ts": "typescript",
    "py": "python",
    "python3": "python",
    "golang": "go",
    "nodejs": "node.js",
    "node": "node.js",
    "nextjs": "next.js",
    "expressjs": "express.js",
    "torch": "pytorch",
    "tf": "tensorflow",
    "sklearn": "scikit-learn",
    "springboot": "spring",
    "gh": "github",
    "bs4": "beautifulsoup",
    "pyyaml": "yaml",
    "systemctl": "systemd",
    "journalctl": "systemd",
    "psycopg2": "psycopg",
    "websockets": "websocket",
    "webassembly": "wasm",
    "ssl": "tls",
    "cpp": "c++",
    "csharp": "c#",
    "dotnet": ".net",
    "gpt4": "gpt-4",
    "gpt-4o": "gpt-4",
    "llamacpp": "llama.cpp",
    "osx": "macos",
    "mvn": "maven",
    "mvnw": "maven",
    "gradlew": "gradle",
    "golangci": "golangci-lint",
}

#: Names that are also ordinary words: accepted only in a telling context (see ``entities``).
AMBIGUOUS: dict[str, str] = {
    "go": "go",
    "rust": "rust",
    "swift": "swift",
    "spark": "spark",
    "express": "express.js",
    "dart": "dart",
    "julia": "julia",
    "crystal": "crystal",
    "elm": "elm",
    "ray": "ray",
    "chef": "chef",
    "puppet": "puppet",
    "vault": "vault",
    "consul": "consul",
    "nomad": "nomad",
    "arrow": "arrow",
    "polars": "polars",
    "beam": "beam",
    "r": "r",
    "c": "c",
    "java": "java",
    "ruby": "ruby",
    "rest": "rest",
    "echo": "echo",
    "fiber": "fiber",
    "rocket": "rocket",
    "gin": "gin",
    "lambda": "lambda",
    "requests": "requests",
    "black": "black",
    "bun": "bun",
    "apache": "apache",
    "notion": "notion",
    "slack": "slack",
    "iam": "iam",
    "cargo": "cargo",
    "jest": "jest",
    "triton": "triton",
    "transformers": "transformers",
    "hypothesis": "hypothesis",
    "tornado": "tornado",
    "prefect": "prefect",
    "redux": "redux",
    "windows": "windows",
    "uv": "uv",
}


def _technologies() -> dict[str, str]:
    names = {name: name for name in _CANONICAL.split()}
    names.update(_ALIASES)
    for word in AMBIGUOUS:
        names.pop(word, None)
    return names


#: Unambiguous spellings (lowercase) → canonical technology name.
TECHNOLOGIES: dict[str, str] = _technologies()
