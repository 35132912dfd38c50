using System.Security.Claims;
using Foresight.Core.Insights;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Insights;

/// <summary>
/// The machine layer of a survey (design 1.3-1.7): literature in, machine-proposed topics with evidence out, decided
/// by coordinators; argument clusters between rounds; its own evaluation. Switched off with Foresight:Insights:Enabled.
/// The work is <see cref="LiteratureService"/>'s, <see cref="Analyses"/>', <see cref="ReviewService"/>'s and
/// <see cref="ArgumentsService"/>'s; this turns it into HTTP.
/// </summary>
public static class InsightsEndpoints
{
    public static IServiceCollection AddInsights(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<Analyses>();
        services.AddSingleton<LiteratureService>();
        services.AddSingleton<ReviewService>();
        services.AddSingleton<ArgumentsService>();
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
        group.MapPost("/records/import", Import).WithMetadata(new BodyLimit(options.MaxImportBytes))
            .Accepts<string>("text/csv", "text/tab-separated-values", "text/plain", "application/x-ndjson", "application/jsonl", "application/octet-stream",
                "multipart/form-data")
            .WithSummary(
                "Import literature records (Scopus CSV, Web of Science tab-delimited, generic CSV or JSONL; format detected, or " +
                "?format=scopus|wos|csv|jsonl). Bad rows are skipped and listed with their line; duplicates are counted and not stored twice. " +
                "A file of up to " +
                app.ServiceProvider.GetRequiredService<LiteratureImports>().InlineRecords.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) +
                " records is imported within the request (200); a larger one in the background (202, Location: the import, whose done and total tell " +
                "its progress; its records are searchable once its status is done). 409 while another import of the survey runs.");
        group.MapGet("/records/imports", async (SurveyRef survey, LiteratureService literature) => TypedResults.Ok(await literature.ImportsAsync(survey)))
            .WithSummary("The survey's imports, newest first, with their status (importing, done, failed) and progress (done of total records)");
        group.MapGet("/records/imports/{id:long}", (SurveyRef survey, long id, LiteratureService literature) =>
            literature.ImportAsync(survey, id).ToHttp(TypedResults.Ok))
            .WithSummary("One import: status (importing, done, failed), records done of total, and when done what was added");
        group.MapGet("/records", Search)
            .WithSummary("Search the survey's records: q (full text, Chinese or English), year_from, year_to, " +
            "type (paper, patent, project, news; repeatable), offset, limit");
        group.MapGet("/records/{id:long}", (SurveyRef survey, long id, LiteratureService literature) =>
            literature.RecordAsync(survey, id).ToHttp(TypedResults.Ok));
        group.MapPost("/analyses", (SurveyRef survey, AnalysisRequest body, ClaimsPrincipal user, Analyses analyses) =>
                analyses.RequestAsync(survey, body, user).ToHttp(a => TypedResults.Accepted($"/api/surveys/{survey.Id}/insights/analyses/{a.Id}", a)))
                .Validate<AnalysisRequest>()
            .WithSummary("Cluster the records the filter selects into proposed topics (runs in the background; poll the analysis)");
        group.MapGet("/analyses", async (SurveyRef survey, Analyses analyses) => TypedResults.Ok(await analyses.ListAsync(survey)));
        group.MapGet("/analyses/{id:long}", (SurveyRef survey, long id, Analyses analyses) => analyses.GetAsync(survey, id).ToHttp(TypedResults.Ok));
        group.MapGet("/proposals", (SurveyRef survey, string? status, ReviewService review) => review.ProposalsAsync(survey, status).ToHttp(TypedResults.Ok))
            .WithSummary("Machine-proposed topics with their evidence; status=open for the review queue");
        group.MapPost("/proposals/{id:long}/accept", (SurveyRef survey, long id, AcceptProposal body, ClaimsPrincipal user, ReviewService review) =>
            review.AcceptAsync(survey, id, body, user).ToHttp(TypedResults.Ok))
            .Validate<AcceptProposal>().WithSummary("Make the proposal a topic as proposed");
        group.MapPost("/proposals/{id:long}/edit", (SurveyRef survey, long id, EditProposal body, ClaimsPrincipal user, ReviewService review) =>
            review.EditAsync(survey, id, body, user).ToHttp(TypedResults.Ok))
            .Validate<EditProposal>().WithSummary("Make the proposal a topic with a title and background of your own");
        group.MapPost("/proposals/merge", (SurveyRef survey, MergeProposals body, ClaimsPrincipal user, ReviewService review) =>
            review.MergeAsync(survey, body, user).ToHttp(TypedResults.Ok))
            .Validate<MergeProposals>().WithSummary("Make several proposals one topic");
        group.MapPost("/proposals/{id:long}/split", (SurveyRef survey, long id, SplitProposal body, ClaimsPrincipal user, ReviewService review) =>
            review.SplitAsync(survey, id, body, user).ToHttp(TypedResults.Ok))
            .Validate<SplitProposal>().WithSummary("Make one proposal several topics");
        group.MapPost("/proposals/{id:long}/reject", (SurveyRef survey, long id, RejectProposal body, ClaimsPrincipal user, ReviewService review) =>
            review.RejectAsync(survey, id, body, user).ToHttp(TypedResults.Ok))
            .Validate<RejectProposal>().WithSummary("Reject (delete) the proposal");
        group.MapGet("/decisions", async (SurveyRef survey, ReviewService review) => TypedResults.Ok(await review.DecisionsAsync(survey)))
            .WithSummary("Every decision on proposals, newest first, with who and when");
        group.MapGet("/evaluation", async (SurveyRef survey, ReviewService review) => TypedResults.Ok(await review.EvaluationAsync(survey)))
            .WithSummary(
            "Shares of proposals accepted, edited, merged, split and rejected; adjusted Rand index of machine clusters against expert field assignment");
        group.MapGet("/rounds/{round:int}/arguments", (SurveyRef survey, int round, string? topic, ArgumentsService arguments) =>
            arguments.ListAsync(survey, round, topic).ToHttp(TypedResults.Ok))
            .WithSummary("Argument clusters of the closed round's rationales, per topic (or ?topic=)");
        group.MapPut("/rounds/{round:int}/arguments/{topic}", (SurveyRef survey, int round, string topic, ChooseArguments body, ClaimsPrincipal user,
            ArgumentsService arguments) =>
                arguments.ChooseAsync(survey, round, topic, body, user).ToHttp(TypedResults.Ok)).Validate<ChooseArguments>()
            .WithSummary("Choose the argument clusters the next round's feedback shows for a topic (an empty list shows none)");
    }

    static async Task<Results<Ok<LiteratureImportView>, Accepted<LiteratureImportView>, ProblemHttpResult>> Import(SurveyRef survey, HttpRequest request,
        string? format,
        ClaimsPrincipal user, LiteratureService literature)
    {
        // The format is checked before the upload is read: a wrong one is refused without reading the file.
        var declared = LiteratureService.DeclaredFormat(format);
        if (declared.Refusal is { } wrong) return wrong.ToProblem();
        var (stream, name, problem) = await Uploads.OpenAsync(request, "records");
        if (stream is null) return problem!.ToProblem();
        var outcome = await literature.ImportAsync(survey, stream, name, declared.Value, user);
        if (outcome.Refusal is { } refused) return refused.ToProblem();
        var (view, inBackground) = outcome.Value!;
        return inBackground ? TypedResults.Accepted($"/api/surveys/{survey.Id}/insights/records/imports/{view.Id}", view) : TypedResults.Ok(view);
    }

    static async Task<Results<Ok<RecordPage>, ProblemHttpResult>> Search(SurveyRef survey, string? q,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "year_from")] int? yearFrom,
        [Microsoft.AspNetCore.Mvc.FromQuery(Name = "year_to")] int? yearTo, string[]? type, int? offset, int? limit, LiteratureService literature) =>
        await literature.SearchAsync(survey, new RecordFilter(q, yearFrom, yearTo, type), offset, limit).ToHttp(TypedResults.Ok);
}
