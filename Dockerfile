# Foresight server image. Build: docker build -t foresight .
# Once: echo "Foresight__MasterKey=$(openssl rand -base64 32)" > foresight.env   (the master key that encrypts the
#       data-protection keys on the volume; keep this file, apart from the volume and its backups)
# Run:   docker run -p 8080:8080 -v foresight-data:/data --env-file foresight.env foresight
#        (add -e Foresight__SampleSurvey=/app/surveys/quick-start.yaml to start with a sample survey;
#        or give Foresight__MasterKeyFile=/run/secrets/... for a key mounted as a secret)

# --- build -------------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
# npm installs the front-end packages (@microsoft/signalr) from package-lock.json during the build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Restore first, from the project files only, so that the layer is cached across source changes.
COPY Foresight.sln global.json .editorconfig Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY src/Foresight.Core/Foresight.Core.csproj src/Foresight.Core/
COPY src/Foresight.Reports/Foresight.Reports.csproj src/Foresight.Reports/
COPY src/Foresight.Server/Foresight.Server.csproj src/Foresight.Server/package.json src/Foresight.Server/package-lock.json src/Foresight.Server/
COPY src/Foresight.Cli/Foresight.Cli.csproj src/Foresight.Cli/
RUN dotnet restore src/Foresight.Server/Foresight.Server.csproj \
 && dotnet restore src/Foresight.Cli/Foresight.Cli.csproj \
 && cd src/Foresight.Server && npm ci --no-audit --no-fund
COPY src/ src/
RUN dotnet publish src/Foresight.Server/Foresight.Server.csproj -c Release --no-restore -o /out/server \
 && dotnet publish src/Foresight.Cli/Foresight.Cli.csproj -c Release --no-restore -o /out/cli

# --- runtime -----------------------------------------------------------------------------------------
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# Reports are HTML printed to PDF by Debian's chromium, with WenQuanYi Micro Hei so that Chinese text stays
# extractable (Playwright drives it; its driver ships in the NuGet package, no browser is downloaded); curl for the
# health check; sqlite3 for operators who inspect the database.
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-wqy-microhei curl sqlite3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/server ./
COPY --from=build /out/cli ./cli/
COPY surveys/ ./surveys/
RUN ln -s /app/cli/foresight /usr/local/bin/foresight \
 && mkdir -p /data && chown app:app /data && chmod 700 /data
# RequireMasterKey: without Foresight__MasterKey or Foresight__MasterKeyFile the server stops at start, instead of
# generating a master key in the container's home, which a new container would not have.
ENV ASPNETCORE_URLS=http://+:8080 \
    Foresight__Database=/data/foresight.db \
    Foresight__RequireMasterKey=true \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
VOLUME ["/data"]
EXPOSE 8080
# The image's non-root user (uid 1654).
USER app
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "Foresight.Server.dll"]
