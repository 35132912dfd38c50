using Foresight.Core;
using System.Security.Claims;
using System.Text;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Surveys;

public sealed record SurveySummary(long Id, string Slug, LocalizedText Title, SurveyStatus Status, string CreatedAt, int Topics, int Panel, int? CurrentRound);

public sealed record RoundBrief(int Number, RoundStatus Status, int RulesVersion, string OpenedAt, string? Deadline, string? ClosedAt, int Topics);

public sealed record SurveyDetail(
    long Id, string Slug, LocalizedText Title, LocalizedText? Description, IReadOnlyList<string> Languages,
    SurveyStatus Status, string CreatedAt, string FileName, int RulesVersion, int PanelSize,
    IReadOnlyList<FieldView> Fields, IReadOnlyList<Question> Questions, IReadOnlyList<Ranking> Rankings,
    IReadOnlyList<ProfileQuestion> Profile, FeedbackSettings Feedback, LiveSettings Live, IReadOnlyList<RoundBrief> Rounds);

public sealed record FileError(string File, int Line, int Column, string Message)
{
    /// <summary>As a page lists it.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

public sealed record RulesVersion(int Version, string CreatedAt, string Source, ConsensusRules Rules, IReadOnlyList<int> Rounds);

public sealed record CoordinatorView(long UserId, string Email, string Name);

public sealed record CoordinatorRequest(string Email) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Email)) yield return "email is required: the coordinator's account e-mail";
    }
}

/// <summary>The surveys' API.</summary>
public static class SurveysEndpoints
{
    public static IServiceCollection AddSurveys(this IServiceCollection services) => services
        .AddSingleton<SurveyCatalog>().AddChangeHandler<SurveyChanged, SurveyCatalog>()
        .AddSingleton<SurveyDirectory>().AddChangeHandler<SurveyChanged, SurveyDirectory>()
        .AddSingleton<SurveysService>();

    public static void MapSurveys(this IEndpointRouteBuilder app)
    {
        long maxImport = app.ServiceProvider.GetRequiredService<IOptions<ForesightOptions>>().Value.MaxImportBytes;
        var group = app.MapGroup("/api/surveys").WithTags("Surveys");

        group.MapGet("/", async (ClaimsPrincipal user, SurveysService surveys) => TypedResults.Ok(await surveys.ListAsync(user))).RequireAuthorization();
        group.MapPost("/", (HttpRequest request, ClaimsPrincipal user, SurveysService surveys) => WithFileAsync(request, "survey.yaml", (text, name) =>
                surveys.ImportAsync(text, name, user).ToHttp(d => TypedResults.Created($"/api/surveys/{d.Id}", d)))).RequireAuthorization(Policies.Coordinator)
                .WithMetadata(new BodyLimit(maxImport))
            .Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Import a survey file (YAML body, or a form upload named 'file'); every error comes back with its line and column");
        group.MapPost("/validate", (HttpRequest request) => WithFileAsync(request, "survey.yaml", (text, name) =>
                Task.FromResult(SurveysService.Validate(text, name).ToHttp(TypedResults.Ok)))).RequireAuthorization(Policies.Coordinator)
                .WithMetadata(new BodyLimit(maxImport))
            .Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Check a survey file without storing it");

        var one = group.MapGroup("/{survey}").RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        one.MapGet("/", async (SurveyRef survey, SurveysService surveys) => TypedResults.Ok(await surveys.DetailAsync(survey.Id)));
        one.MapDelete("/", (SurveyRef survey, ClaimsPrincipal user, SurveysService surveys) => surveys.DeleteAsync(survey, user).ToNoContent())
            .WithSummary("Delete a survey that has not opened a round");
        one.MapGet("/definition", Definition).WithSummary("The survey file as imported");
        one.MapPut("/definition", (SurveyRef survey, HttpRequest request, ClaimsPrincipal user, SurveysService surveys) =>
                WithFileAsync(request, "survey.yaml", (text, name) => surveys.ReplaceAsync(survey, text, name, user).ToHttp(TypedResults.Ok)))
                .WithMetadata(new BodyLimit(maxImport)).Accepts<string>("application/yaml", "multipart/form-data")
            .WithSummary("Replace the survey file while no round has opened");
        one.MapGet("/rules", async (SurveyRef survey, SurveysService surveys) => TypedResults.Ok(await surveys.RulesAsync(survey)))
            .WithSummary("Every version of the consensus and stop rules, and the rounds judged by each");
        one.MapPut("/rules", (SurveyRef survey, HttpRequest request, ClaimsPrincipal user, SurveysService surveys) =>
                WithFileAsync(request, "rules.yaml", (text, name) => surveys.NewRulesAsync(survey, text, name, user).ToHttp(TypedResults.Ok)))
                .WithMetadata(new BodyLimit(64 * 1024)).Accepts<string>("application/yaml")
            .WithSummary("Declare a new version of the consensus rules (the 'consensus' section as YAML); it applies to rounds opened from now on");
        one.MapGet("/coordinators", async (SurveyRef survey, SurveysService surveys) => TypedResults.Ok(await surveys.CoordinatorsAsync(survey)))
            .WithSummary("The accounts that coordinate this survey");
        one.MapPost("/coordinators", (SurveyRef survey, CoordinatorRequest body, ClaimsPrincipal user, SurveysService surveys) =>
                surveys.AddCoordinatorAsync(survey, body, user).ToNoContent()).Validate<CoordinatorRequest>().RequireAuthorization(Policies.Admin)
            .WithSummary("Make a coordinator account a coordinator of this survey (admins only)");
        one.MapDelete("/coordinators/{userId:long}", (SurveyRef survey, long userId, ClaimsPrincipal user, SurveysService surveys) =>
                surveys.RemoveCoordinatorAsync(survey, userId, user).ToNoContent()).RequireAuthorization(Policies.Admin)
            .WithSummary("Remove a coordinator from this survey (admins only); their open live views of it end at once");
    }

    static async Task<Results<TOk, ProblemHttpResult>> WithFileAsync<TOk>(HttpRequest request, string defaultName,
        Func<string, string, Task<Results<TOk, ProblemHttpResult>>> then)
        where TOk : IResult
    {
        var (text, fileName, error) = await Uploads.ReadTextAsync(request, defaultName);
        return error is not null ? error.ToProblem() : await then(text!, fileName);
    }

    static async Task<IResult> Definition(SurveyRef survey, SurveysService surveys)
    {
        var (yaml, file) = await surveys.DefinitionAsync(survey);
        return TypedResults.File(Encoding.UTF8.GetBytes(yaml), "application/yaml; charset=utf-8", Path.GetFileName(file));
    }
}
