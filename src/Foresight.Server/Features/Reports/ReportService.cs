using Foresight.Core;
using System.Diagnostics;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Reports;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Hangfire;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Reports;

public sealed class ReportRow
{
    public long Id { get; init; }
    public long SurveyId { get; init; }
    public string Kind { get; init; } = "";
    public int RoundNumber { get; init; }
    public string Language { get; init; } = "";
    public string DataVersion { get; init; } = "";
    public ReportStatus Status { get; init; } = ReportStatus.Queued;
    public string? PdfPath { get; init; }
    public long? PdfBytes { get; init; }
    public string? DataHash { get; init; }
    public int Attempts { get; init; }
    public string? Error { get; init; }
    public string RequestedAt { get; init; } = "";
    public string? RenderedAt { get; init; }
    public long? RenderMs { get; init; }
}

public static class ReportServices
{
    public static IServiceCollection AddReports(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(configuration.GetSection(PdfOptions.Section).Get<PdfOptions>() ?? new PdfOptions());
        services.AddSingleton<PdfRenderer>();
        services.AddSingleton<ReportBuilder>();
        services.AddSingleton<ReportService>();
        services.AddChangeHandler<RoundClosed, ReportService>();
        return services;
    }
}

/// <summary>
/// Rendering reports in the background (a Hangfire job: idempotent, retried, its state in the reports table) and
/// finding the stored PDF of a report's current data version.
/// </summary>
public sealed class ReportService(Db db, SurveyCatalog catalog, ReportBuilder builder, Outbox outbox, PdfRenderer pdf, IBackgroundJobClient jobs,
    LivePublisher live, TimeProvider clock, ILogger<ReportService> log)
    : IChangeHandler<RoundClosed>
{
    /// <summary>A closed round's reports, in each of the survey's languages, are queued.</summary>
    public async Task HandleAsync(RoundClosed change) => EnqueueRound(change.SurveyId, change.Number, await catalog.DefinitionAsync(change.SurveyId));

    string Folder(long surveyId) => Path.Combine(Path.GetDirectoryName(db.Path)!, "reports", surveyId.ToString());

    public static string PageLabel(string language) => new ReportText(language)["page"];

    public static string Url(string slug, string kind, int round, string language, string format) =>
        kind == "study" ? $"/api/surveys/{slug}/report.{format}?lang={language}" : $"/api/surveys/{slug}/rounds/{round}/report.{format}?lang={language}";

    /// <summary>The job. Renders the report's current version unless it is stored already; safe to run twice.</summary>
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [5, 30, 120])]
    [Queue("reports")]
    public async Task RenderAsync(long surveyId, string kind, int round, string language)
    {
        await using var c = await db.OpenAsync();
        var model = await builder.BuildAsync(c, surveyId, kind, round, language);
        if (model is null) { log.LogWarning("No closed round {Round} to report for survey {Survey}", round, surveyId); return; }
        // Two jobs for the same version (the round's close and a reader's request) render it once: the second waits
        // for the first and then finds it stored.
        var gate = _versions.GetOrAdd($"{surveyId}/{kind}/{model.Round}/{language}/{model.DataVersion}", _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            if (await ReadyAsync(c, surveyId, kind, model.Round, language, model.DataVersion) is not null) return;
            await RenderVersionAsync(c, surveyId, kind, language, model);
        }
        finally { gate.Release(); }
    }

    readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _versions = new();

    async Task RenderVersionAsync(SqliteConnection c, long surveyId, string kind, string language, ReportModel model)
    {
        long id = await MarkAsync(surveyId, kind, model, ReportStatus.Rendering, null);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            var folder = Folder(surveyId);
            var name = $"{kind}-{model.Round}-{language}-{model.DataVersion[..16]}";
            var html = ReportHtml.Render(model);
            Directory.CreateDirectory(folder);
            var htmlPath = Path.Combine(folder, name + ".html");
            await File.WriteAllTextAsync(htmlPath + ".partial", html);
            File.Move(htmlPath + ".partial", htmlPath, overwrite: true);
            var pdfPath = Path.Combine(folder, name + ".pdf");
            var footer = $"{model.Survey.Title.Get(language)} · {model.DataVersion[..12]}";
            await pdf.RenderAsync(html, footer, PageLabel(language), pdfPath);
            await using (var w = await db.BeginWriteAsync())
            {
                await w.Connection.ExecuteAsync("""
                    UPDATE reports SET status = 'ready', pdf_path = @pdfPath, html_path = @htmlPath, pdf_bytes = @bytes, error = NULL,
                        rendered_at = @now, render_ms = @ms WHERE id = @id
                    """, new { pdfPath, htmlPath, bytes = new FileInfo(pdfPath).Length, now = Db.Iso(clock.GetUtcNow()), ms = stopwatch.ElapsedMilliseconds,
                        id }, w.Transaction);
                await w.CommitAsync();
            }
            var slug = await c.QuerySingleAsync<string>("SELECT slug FROM surveys WHERE id = @surveyId", new { surveyId });
            await live.ReportReadyAsync(surveyId, model.Round, language, Url(slug, kind, model.Round, language, "pdf"),
                await PublishedAsync(c, surveyId, kind, model.Round, language));
            log.LogInformation("Rendered the {Kind} report of round {Round} ({Language}) of survey {Survey} in {Ms} ms", kind, model.Round, language, surveyId,
                stopwatch.ElapsedMilliseconds);
        }
        catch (Exception e)
        {
            log.LogError(e, "Rendering the {Kind} report of round {Round} ({Language}) of survey {Survey} failed", kind, model.Round, language, surveyId);
            await using var w = await db.BeginWriteAsync();
            await w.Connection.ExecuteAsync("UPDATE reports SET status = 'failed', error = @error WHERE id = @id", new { error = e.Message, id },
                w.Transaction);
            await w.CommitAsync();
            throw;
        }
    }

    async Task<long> MarkAsync(long surveyId, string kind, ReportModel model, ReportStatus status, long? userId)
    {
        await using var w = await db.BeginWriteAsync();
        var id = await w.Connection.ExecuteScalarAsync<long>("""
            INSERT INTO reports (survey_id, kind, round_number, language, data_version, status, data_hash, attempts, requested_at, requested_by)
            VALUES (@surveyId, @kind, @Round, @Language, @DataVersion, @status, @DataHash, 1, @now, @userId)
            ON CONFLICT (survey_id, kind, round_number, language, data_version) DO UPDATE SET status = excluded.status,
                attempts = reports.attempts + (CASE WHEN excluded.status = 'rendering' THEN 1 ELSE 0 END)
            RETURNING id
            """, new { surveyId, kind, model.Round, model.Language, model.DataVersion, status, model.DataHash, now = Db.Iso(clock.GetUtcNow()), userId },
            w.Transaction);
        await w.CommitAsync();
        return id;
    }

    public static async Task<bool> PublishedAsync(SqliteConnection c, long surveyId, string kind, int round, string language) =>
        await c.ExecuteScalarAsync<long>("""
            SELECT COUNT(*) FROM report_publications WHERE survey_id = @surveyId AND kind = @kind AND round_number = @round AND language = @language
            """, new { surveyId, kind, round, language }) > 0;

    public static Task<ReportRow?> ReadyAsync(SqliteConnection c, long surveyId, string kind, int round, string language, string version) =>
        c.QuerySingleOrDefaultAsync<ReportRow>("""
            SELECT * FROM reports WHERE survey_id = @surveyId AND kind = @kind AND round_number = @round AND language = @language
              AND data_version = @version AND status = 'ready'
            """, new { surveyId, kind, round, language, version });

    // ---------------------------------------------------------------- what the API and pages ask

    /// <summary>Reports of the survey: every rendered version for coordinators, the published ready ones for stakeholders.</summary>
    public async Task<List<ReportEntry>> ListAsync(SurveyRef survey, bool coordinator)
    {
        await using var c = await db.OpenAsync();
        var published = (await c.QueryAsync<(string Kind, long Round, string Language)>(
            "SELECT kind, round_number, language FROM report_publications WHERE survey_id = @Id", new { survey.Id })).ToHashSet();
        var rows = (await c.QueryAsync<ReportRow>("SELECT * FROM reports WHERE survey_id = @Id ORDER BY id DESC", new { survey.Id })).ToList();
        return rows.Select(r => new ReportEntry(r.Kind, r.RoundNumber, r.Language, r.Status, r.DataVersion, r.DataHash, r.PdfBytes, r.RequestedAt,
                r.RenderedAt, r.RenderMs, r.Attempts, r.Error, published.Contains((r.Kind, r.RoundNumber, r.Language)),
                Url(survey.Slug, r.Kind, r.RoundNumber, r.Language, "pdf"), Url(survey.Slug, r.Kind, r.RoundNumber, r.Language, "html")))
            .Where(e => coordinator || e.Published && e.Status == ReportStatus.Ready).ToList();
    }

    /// <summary>A coordinator asks for a report to be rendered (in the background).</summary>
    public async Task<Outcome<RenderRequested>> RequestReportAsync(SurveyRef survey, ReportRequest body, long? userId)
    {
        var language = Languages.Normalize(body.Language)!;
        await using (var c = await db.OpenAsync())
        {
            var closed = (await c.QueryAsync<long>("SELECT number FROM rounds WHERE survey_id = @Id AND status = 'closed' AND data_hash IS NOT NULL",
                new { survey.Id })).ToHashSet();
            if (body.KindOrDefault == "round" && !closed.Contains(body.Round!.Value))
                return Refusal.Conflict($"Round {body.Round} of '{survey.Slug}' is not closed; a round report shows a closed round.");
            if (closed.Count == 0) return Refusal.Conflict("No round has closed yet.");
        }
        var status = await RequestAsync(survey.Id, body.KindOrDefault, body.Round ?? 0, language, userId);
        return new RenderRequested(status, Url(survey.Slug, body.KindOrDefault, body.Round ?? 0, language, "pdf"));
    }

    public async Task<Outcome<Publication>> PublishReportAsync(SurveyRef survey, ReportRequest body, long? userId, string linkBase)
    {
        var language = Languages.Normalize(body.Language)!;
        var link = await PublishAsync(survey, body.KindOrDefault, body.Round ?? 0, language, userId, linkBase);
        if (link is null)
            return Refusal.Conflict(body.KindOrDefault == "round" ? $"Round {body.Round} of '{survey.Slug}' is not closed." : "No round has closed yet.");
        return new Publication(body.KindOrDefault, body.Round ?? 0, language, link, Db.Iso(clock.GetUtcNow()));
    }

    /// <summary>A report as its reader may see it: a stakeholder only a published one.</summary>
    public async Task<Outcome<ReportContent>> ContentAsync(SurveyRef survey, string kind, int round, string? lang, string format, bool coordinator,
        long? userId)
    {
        await using var c = await db.OpenAsync();
        var definition = await catalog.DefinitionAsync(survey.Id);
        var language = Languages.Normalize(lang) ?? definition.Languages[0];
        if (!definition.Languages.Contains(language)) return Refusal.NotFound($"Survey '{survey.Slug}' is not written in {language}.");
        var model = await builder.BuildAsync(c, survey.Id, kind, round, language);
        if (model is null) return Refusal.NotFound(kind == "study" ? "No round has closed yet." : $"Round {round} of '{survey.Slug}' is not closed.");
        if (!coordinator && !await PublishedAsync(c, survey.Id, kind, model.Round, language))
            return Refusal.Forbidden("This report is not published.");
        return await ContentAsync(c, survey, model, kind, format, userId);
    }

    /// <summary>A report by its published link.</summary>
    public async Task<Outcome<ReportContent>> SharedAsync(string token, string? format)
    {
        await using var c = await db.OpenAsync();
        var p = await c.QuerySingleOrDefaultAsync<(long SurveyId, string Kind, long RoundNumber, string Language, string Slug)>("""
            SELECT p.survey_id, p.kind, p.round_number, p.language, s.slug FROM report_publications p JOIN surveys s ON s.id = p.survey_id
            WHERE p.token_hash = @hash
            """, new { hash = Secrets.Hash(token) });
        if (p.SurveyId == 0) return Refusal.NotFound("This report link is unknown or was replaced.");
        var model = await builder.BuildAsync(c, p.SurveyId, p.Kind, (int)p.RoundNumber, p.Language);
        if (model is null) return Refusal.NotFound("The report is no longer available.");
        return await ContentAsync(c, new SurveyRef(p.SurveyId, p.Slug), model, p.Kind, format == "html" ? "html" : "pdf", null);
    }

    /// <summary>The HTML page now, or the stored PDF of the current version (or that it is being rendered).</summary>
    async Task<ReportContent> ContentAsync(SqliteConnection c, SurveyRef survey, ReportModel model, string kind, string format, long? userId)
    {
        if (format == "html") return new ReportContent.Html(ReportHtml.Render(model, "/css/report.css"));
        var ready = await ReadyAsync(c, survey.Id, kind, model.Round, model.Language, model.DataVersion);
        if (ready?.PdfPath is { } path && File.Exists(path))
            return new ReportContent.Pdf(path, $"{survey.Slug}-{(kind == "study" ? "study" : "round-" + model.Round)}-{model.Language}.pdf");
        var status = await RequestAsync(c, survey.Id, kind, model, userId);
        // The last attempt's error stays on the row until a render succeeds.
        var failed = await c.QuerySingleOrDefaultAsync<string>("""
            SELECT error FROM reports WHERE survey_id = @Id AND kind = @kind AND round_number = @Round AND language = @Language
              AND data_version = @DataVersion
            """, new { survey.Id, kind, model.Round, model.Language, model.DataVersion });
        return new ReportContent.Rendering(status, failed);
    }

    /// <summary>Queues a render of the report's current version (a second request while one is waiting adds nothing).</summary>
    public async Task<ReportStatus> RequestAsync(long surveyId, string kind, int round, string language, long? userId)
    {
        await using var c = await db.OpenAsync();
        var model = await builder.BuildAsync(c, surveyId, kind, round, language)
            ?? throw new InvalidOperationException($"round {round} of survey {surveyId} is not closed");
        return await RequestAsync(c, surveyId, kind, model, userId);
    }

    /// <summary>The same, for a model the caller has built already (building one reads every round's snapshot).</summary>
    public async Task<ReportStatus> RequestAsync(SqliteConnection c, long surveyId, string kind, ReportModel model, long? userId)
    {
        var existing = await c.QuerySingleOrDefaultAsync<ReportRow>("""
            SELECT * FROM reports
                WHERE survey_id = @surveyId AND kind = @kind AND round_number = @Round AND language = @Language AND data_version = @DataVersion
            """, new { surveyId, kind, model.Round, model.Language, model.DataVersion });
        if (existing is not null && existing.Status != ReportStatus.Failed) return existing.Status;
        await MarkAsync(surveyId, kind, model, ReportStatus.Queued, userId);
        jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, kind, model.Round, model.Language));
        return ReportStatus.Queued;
    }

    /// <summary>
    /// Publishes a report to the survey's stakeholders with a new link (replacing an earlier one); stakeholders watching
    /// live hear of it once its PDF is ready.
    /// </summary>
    /// <param name="linkBase">the server's public address, for the link</param>
    /// <returns>the link (its secret is shown only now), or null when there is no such closed round</returns>
    public async Task<string?> PublishAsync(SurveyRef survey, string kind, int round, string language, long? userId, string linkBase)
    {
        var token = Secrets.New();
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            var closed = await c.ExecuteScalarAsync<long>(kind == "round"
                ? "SELECT COUNT(*) FROM rounds WHERE survey_id = @Id AND number = @round AND status = 'closed' AND data_hash IS NOT NULL"
                : "SELECT COUNT(*) FROM rounds WHERE survey_id = @Id AND status = 'closed' AND data_hash IS NOT NULL", new { survey.Id, round }, tx);
            if (closed == 0) return null;
            await c.ExecuteAsync("""
                INSERT INTO report_publications (survey_id, kind, round_number, language, token_hash, published_at, published_by)
                VALUES (@Id, @kind, @round, @language, @hash, @now, @userId)
                ON CONFLICT (survey_id, kind, round_number, language) DO UPDATE SET token_hash = excluded.token_hash, published_at = excluded.published_at
                """, new { survey.Id, kind, round, language, hash = Secrets.Hash(token), now = Db.Iso(clock.GetUtcNow()), userId }, tx);
            await Audit.LogAsync(c, tx, clock, userId, survey.Id, "report.published", new { kind, round, language });
            await tx.CommitAsync();
        }
        await PublishedNowAsync(survey.Id, survey.Slug, kind, round, language, userId);
        var link = $"{linkBase.TrimEnd('/')}/r/{token}";
        // The experts who answered the round are thanked with the link (once per round, whichever language is published first).
        if (kind == "round") await outbox.ThankAsync(survey.Id, round, link);
        return link;
    }

    async Task PublishedNowAsync(long surveyId, string slug, string kind, int round, string language, long? userId)
    {
        await using var c = await db.OpenAsync();
        var model = await builder.BuildAsync(c, surveyId, kind, round, language);
        if (model is null) return;
        if (await ReadyAsync(c, surveyId, kind, model.Round, language, model.DataVersion) is not null)
            await live.ReportReadyAsync(surveyId, model.Round, language, Url(slug, kind, model.Round, language, "pdf"), published: true);
        else await RequestAsync(c, surveyId, kind, model, userId);
    }

    /// <summary>
    /// At start-up: the reports table says what was asked for; renders that were queued or under way when the server
    /// stopped are queued again, so are those that failed (a restart is often what mends the cause), and so is the
    /// report of every closed round that has none yet.
    /// </summary>
    public async Task ResumeAsync()
    {
        await using var c = await db.OpenAsync();
        var pending = await c.QueryAsync<(long SurveyId, string Kind, long Round, string Language)>("""
            SELECT DISTINCT survey_id, kind, round_number, language FROM reports WHERE status IN ('queued', 'rendering', 'failed')
            UNION
            SELECT r.survey_id, 'round', r.number, '' FROM rounds r
            WHERE r.status = 'closed' AND r.data_hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM reports p WHERE p.survey_id = r.survey_id AND p.kind = 'round'
                AND p.round_number = r.number)
            """);
        foreach (var (surveyId, kind, round, language) in pending)
        {
            if (language.Length > 0) jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, kind, (int)round, language));
            else
                foreach (var l in (await catalog.DefinitionAsync(surveyId)).Languages)
                    jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, kind, (int)round, l));
        }
    }

    /// <summary>After a round closes: its report in every language of the survey.</summary>
    public void EnqueueRound(long surveyId, int round, SurveyDefinition survey)
    {
        foreach (var language in survey.Languages)
            jobs.Enqueue<ReportService>(s => s.RenderAsync(surveyId, "round", round, language));
    }
}
