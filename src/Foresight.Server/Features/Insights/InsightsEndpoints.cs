using System.Security.Claims;
using Dapper;
using Foresight.Core.Insights;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Insights;

/// <summary>
/// The machine layer of a survey (design 1.3-1.7): literature in, machine-proposed topics with evidence out, decided
/// by coordinators; argument clusters between rounds; its own evaluation. Switched off with Foresight:Insights:Enabled.
/// </summary>
public static class InsightsEndpoints
{
    public static IServiceCollection AddInsights(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<Analyses>();
        services.AddSingleton<Surveys.ISurveyData, LiteratureSearch>();
        services.AddSingleton<Surveys.ITopicDeletion, ProposalsOfDeletedTopics>();
        services.AddSingleton<LiteratureImports>();
        services.AddHostedService(sp => sp.GetRequiredService<LiteratureImports>());
        // The console's upload form takes exports as large as the API does (other pages keep the default limit).
        long max = configuration.GetSection(ForesightOptions.Section).Get<ForesightOptions>()?.Insights.MaxImportBytes ?? new InsightsOptions().MaxImportBytes;
        services.Configure<Microsoft.AspNetCore.Mvc.RazorPages.RazorPagesOptions>(o =>
            o.Conventions.AddPageApplicationModelConvention("/Insights/Index", page => page.EndpointMetadata.Add(new BodyLimit(max))));
        return services;
    }

    public static void MapInsights(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<IOptions<ForesightOptions>>().Value.Insights;
        var group = app.MapGroup("/api/surveys/{survey}/insights").WithTags("Insights")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator)
            .AddEndpointFilter(async (context, next) => options.Enabled ? await next(context)
                : Problems.NotFound("The machine layer is switched off on this server (setting Foresight:Insights:Enabled)."));
        group.MapPost("/records/import", Import).WithMetadata(new BodyLimit(options.MaxImportBytes)).Accepts<string>("text/csv", "text/tab-separated-values", "text/plain", "application/x-ndjson", "application/jsonl", "application/octet-stream", "multipart/form-data")
            .WithSummary("Import literature records (Scopus CSV, Web of Science tab-delimited, generic CSV or JSONL; format detected, or ?format=scopus|wos|csv|jsonl). Bad rows are skipped and listed with their line; duplicates are counted and not stored twice. " +
                $"A file of up to {app.ServiceProvider.GetRequiredService<LiteratureImports>().InlineRecords.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} records is imported within the request (200); a larger one in the background (202, Location: the import, whose done and total tell its progress; its records are searchable once its status is done). 409 while another import of the survey runs.");
        group.MapGet("/records/imports", Imports).WithSummary("The survey's imports, newest first, with their status (importing, done, failed) and progress (done of total records)");
        group.MapGet("/records/imports/{id:long}", ImportOne).WithSummary("One import: status (importing, done, failed), records done of total, and when done what was added");
        group.MapGet("/records", Search).WithSummary("Search the survey's records: q (full text, Chinese or English), year_from, year_to, type (paper, patent, project, news; repeatable), offset, limit");
        group.MapGet("/records/{id:long}", Record);
        group.MapPost("/analyses", Analyse).Validate<AnalysisRequest>()
            .WithSummary("Cluster the records the filter selects into proposed topics (runs in the background; poll the analysis)");
        group.MapGet("/analyses", ListAnalyses);
        group.MapGet("/analyses/{id:long}", Analysis);
        group.MapGet("/proposals", Proposals).WithSummary("Machine-proposed topics with their evidence; status=open for the review queue");
        group.MapPost("/proposals/{id:long}/accept", Review.Accept).Validate<AcceptProposal>().WithSummary("Make the proposal a topic as proposed");
        group.MapPost("/proposals/{id:long}/edit", Review.Edit).Validate<EditProposal>().WithSummary("Make the proposal a topic with a title and background of your own");
        group.MapPost("/proposals/merge", Review.Merge).Validate<MergeProposals>().WithSummary("Make several proposals one topic");
        group.MapPost("/proposals/{id:long}/split", Review.Split).Validate<SplitProposal>().WithSummary("Make one proposal several topics");
        group.MapPost("/proposals/{id:long}/reject", Review.Reject).Validate<RejectProposal>().WithSummary("Reject (delete) the proposal");
        group.MapGet("/decisions", Decisions).WithSummary("Every decision on proposals, newest first, with who and when");
        group.MapGet("/evaluation", Evaluate).WithSummary("Shares of proposals accepted, edited, merged, split and rejected; adjusted Rand index of machine clusters against expert field assignment");
        group.MapGet("/rounds/{round:int}/arguments", Arguments.List).WithSummary("Argument clusters of the closed round's rationales, per topic (or ?topic=)");
        group.MapPut("/rounds/{round:int}/arguments/{topic}", Arguments.Choose).Validate<ChooseArguments>()
            .WithSummary("Choose the argument clusters the next round's feedback shows for a topic (an empty list shows none)");
    }

    internal static async Task<Results<Ok<LiteratureImportView>, Accepted<LiteratureImportView>, ProblemHttpResult>> Import(SurveyRef survey, HttpRequest request, string? format,
        ClaimsPrincipal user, LiteratureImports imports)
    {
        ImportFormat? declared = null;
        if (!string.IsNullOrEmpty(format) && (declared = Literature.ParseFormat(format)) is null)
            return Problems.BadRequest($"format '{format}' is not one of scopus, wos, csv, jsonl.");
        var (stream, name, problem) = await Uploads.OpenAsync(request, "records");
        if (stream is null) return problem!.ToProblem();
        // The importers read from a seekable copy: they detect UTF-16 and BOMs themselves.
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        copy.Position = 0;
        if (copy.Length == 0) return Problems.BadRequest($"{name} is empty.");
        // Text that is not UTF-8 (and has no UTF-16 byte-order mark) would be stored with replacement characters: refuse it whole.
        var bytes = copy.GetBuffer().AsSpan(0, (int)copy.Length);
        bool utf16 = bytes is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..];
        if (!utf16 && BodyLimits.InvalidUtf8At(bytes) is { } at)
            return Problems.BadRequest($"{name} is not UTF-8 text: line {bytes[..at].Count((byte)'\n') + 1} has a byte that starts no UTF-8 character. Save the export as UTF-8 (or UTF-16) and import it again. Nothing was stored.");
        var result = LiteratureImport.Read(copy, declared);
        if (result.Format is null)
            return Problems.BadRequest($"{name}: the first line is not the header of a Scopus CSV, a Web of Science tab-delimited export, a generic CSV (title, abstract, keywords, year, ...) or JSONL. Say which with ?format=.",
                result.Errors.Select(e => (object)new RowError(e.Line, e.Message)));
        if (result.Records.Count == 0)
            return Problems.BadRequest($"{name}: no record could be read{(result.Errors.Count > 0 ? $"; line {result.Errors[0].Line}: {result.Errors[0].Message}" : "")}. Nothing was stored.",
                result.Errors.Select(e => (object)new RowError(e.Line, e.Message)));

        // Written in short transactions (LiteratureImports): within this request for a small file, else in the background.
        var started = await imports.StartAsync(survey, name, result, user.UserId());
        if (started.Problem is { } refused) return refused;
        var view = started.View!;
        return started.InBackground ? TypedResults.Accepted($"/api/surveys/{survey.Id}/insights/records/imports/{view.Id}", view) : TypedResults.Ok(view);
    }

    internal static async Task<Ok<List<LiteratureImportView>>> Imports(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await Literature.ImportsAsync(c, survey.Id));
    }

    internal static async Task<Results<Ok<LiteratureImportView>, ProblemHttpResult>> ImportOne(SurveyRef survey, long id, Db db)
    {
        await using var c = await db.OpenAsync();
        return (await Literature.ImportsAsync(c, survey.Id, null, id)).SingleOrDefault() is { } i ? TypedResults.Ok(i) : Problems.NotFound($"Survey '{survey.Slug}' has no import {id}.");
    }

    internal static async Task<Results<Ok<RecordPage>, ProblemHttpResult>> Search(SurveyRef survey, string? q, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "year_from")] int? yearFrom,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "year_to")] int? yearTo, string[]? type, int? offset, int? limit, Db db)
    {
        var filter = new RecordFilter(q, yearFrom, yearTo, type);
        if (filter.Validate().FirstOrDefault() is { } invalid) return Problems.BadRequest(invalid);
        if (offset < 0 || limit is < 1 or > 500) return Problems.BadRequest("offset must be 0 or more and limit between 1 and 500.");
        await using var c = await db.OpenAsync();
        var page = await Literature.SearchAsync(c, survey.Id, filter, offset ?? 0, limit ?? 50);
        return page is null ? Problems.BadRequest($"The search '{q}' has no word to search for (only stop words or punctuation).") : TypedResults.Ok(page);
    }

    internal static async Task<Results<Ok<RecordView>, ProblemHttpResult>> Record(SurveyRef survey, long id, Db db)
    {
        await using var c = await db.OpenAsync();
        return await Literature.RecordAsync(c, survey.Id, id) is { } r ? TypedResults.Ok(r) : Problems.NotFound($"Survey '{survey.Slug}' has no record {id}.");
    }

    internal static async Task<Results<Accepted<AnalysisView>, ProblemHttpResult>> Analyse(SurveyRef survey, AnalysisRequest body, ClaimsPrincipal user, Db db,
        Analyses analyses, IOptions<ForesightOptions> options)
    {
        long id;
        await using (var w = await db.BeginWriteAsync())
        {
            var (c, tx) = w;
            if (!string.IsNullOrWhiteSpace(body.Query) && Literature.Match(body.Query) is null)
                return Problems.BadRequest($"The query '{body.Query}' has no word to search for (only stop words or punctuation).");
            var count = await Literature.CountAsync(c, survey.Id, body.Filter);
            if (count == 0) return Problems.BadRequest("No record matches the filter; import records first or widen the filter.");
            int max = options.Value.Insights.MaxAnalysisRecords;
            if (count > max) return Problems.BadRequest($"{count} records match; at most {max} are analysed at once (Foresight:Insights:MaxAnalysisRecords). Narrow the filter.");
            var k = body.Parameters.K ?? body.Parameters.KMin;
            if (count < 2 * k) return Problems.BadRequest($"{count} records match; proposing {k} or more topics needs at least {2 * k}.");
            if (body.Parameters.Method == ClusteringMethod.Agglomerative && count > Clustering.MaxAgglomerativeDocuments)
                return Problems.BadRequest($"{count} records match; agglomerative clustering takes at most {Clustering.MaxAgglomerativeDocuments}. Use kmeans or narrow the filter.");
            id = await c.ExecuteScalarAsync<long>("""
                INSERT INTO insight_analyses (survey_id, status, filter, parameters, created_at, created_by)
                VALUES (@Id, 'queued', @filter, @parameters, @now, @userId) RETURNING id
                """, new
                {
                    survey.Id, filter = System.Text.Json.JsonSerializer.Serialize(body.Filter, Json.Stored),
                    parameters = System.Text.Json.JsonSerializer.Serialize(body.Parameters, Json.Stored), now = Db.Iso(DateTimeOffset.UtcNow), userId = user.UserId(),
                }, tx);
            await Audit.LogAsync(c, tx, user.UserId(), survey.Id, "insights.analysis.requested", new { id, records = count });
            await tx.CommitAsync();
        }
        analyses.Enqueue(id);
        await using var r = await db.OpenAsync();
        return TypedResults.Accepted($"/api/surveys/{survey.Id}/insights/analyses/{id}", (await Analyses.ListAsync(r, survey.Id, id)).Single());
    }

    internal static async Task<Ok<List<AnalysisView>>> ListAnalyses(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await Analyses.ListAsync(c, survey.Id));
    }

    internal static async Task<Results<Ok<AnalysisView>, ProblemHttpResult>> Analysis(SurveyRef survey, long id, Db db)
    {
        await using var c = await db.OpenAsync();
        return (await Analyses.ListAsync(c, survey.Id, id)).SingleOrDefault() is { } a ? TypedResults.Ok(a) : Problems.NotFound($"Survey '{survey.Slug}' has no analysis {id}.");
    }

    internal static async Task<Results<Ok<List<ProposalView>>, ProblemHttpResult>> Proposals(SurveyRef survey, string? status, Db db)
    {
        if (status is not (null or "open" or "accepted" or "edited" or "merged" or "split" or "rejected"))
            return Problems.BadRequest("status must be open, accepted, edited, merged, split or rejected.");
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await Review.ProposalsAsync(c, survey.Id, status));
    }

    internal static async Task<Ok<List<DecisionView>>> Decisions(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await Review.DecisionsAsync(c, survey.Id));
    }

    internal static async Task<Ok<InsightsEvaluationView>> Evaluate(SurveyRef survey, Db db)
    {
        await using var c = await db.OpenAsync();
        return TypedResults.Ok(await InsightsEvaluation.ComputeAsync(c, survey.Id));
    }
}
