using Foresight.Core;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Questionnaire;

public sealed record SaveTopicRequest(Dictionary<string, JsonElement>? Answers, Dictionary<string, string?>? Rationales) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        int n = (Answers?.Count ?? 0) + (Rationales?.Count ?? 0);
        if (n == 0) yield return "send answers and/or rationales, e.g. {\"answers\": {\"importance\": 6}}";
        if (n > 200) yield return "at most 200 answers and rationales per request";
    }
}

public sealed record RankingRequest(string? Field, IReadOnlyList<string> Order) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Order is null || Order.Count == 0) yield return "order must list topic codes, the highest priority first";
        else if (Order.Count > 1000) yield return "order lists more than 1000 topics";
        else if (Order.Distinct().Count() != Order.Count) yield return "order lists a topic twice";
    }
}

public sealed record ProfileRequest(Dictionary<string, string> Answers) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Answers is null || Answers.Count == 0) yield return "answers must map profile question ids to option codes";
    }
}

public sealed record LanguageRequest(string Language) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Languages.Normalize(Language) is null) yield return "language must be zh-CN or en";
    }
}

public sealed record AnswerView(object Value, string? Rationale);

public sealed record TopicEntry(string Code, LocalizedText Title, IReadOnlyList<string> Tags, string Origin, bool Complete, int Answered);

public sealed record QuestionnaireField(string Code, LocalizedText Name, IReadOnlyList<TopicEntry> Topics);

public sealed record RoundInfo(int Number, RoundStatus Status, string? Deadline);

public sealed record RankingView(string Id, LocalizedText Text, RankingScope Scope, string? Field, IReadOnlyList<string> Topics,
    IReadOnlyList<string>? YourOrder);

public sealed record Progress(int Topics, int Complete);

public sealed record QuestionnaireView(
    string Survey, LocalizedText Title, LocalizedText? Description, IReadOnlyList<string> Languages, string Pseudonym, string Language,
    RoundInfo? Round, IReadOnlyList<QuestionnaireField> Fields, IReadOnlyList<Question> Questions, IReadOnlyList<RankingView> Rankings,
    IReadOnlyList<ProfileQuestion> Profile, IReadOnlyDictionary<string, string> ProfileAnswers, Progress Progress, bool RealTime);

public sealed record TopicSheet(
    string Code, string Field, LocalizedText Title, LocalizedText? Background, IReadOnlyList<string> Tags, string Origin,
    IReadOnlyList<TopicParent> Parents, RoundInfo Round, IReadOnlyList<string> Questions, IReadOnlyDictionary<string, AnswerView> Answers,
    bool Complete, TopicFeedback? Feedback, int Messages, IReadOnlyList<Insights.ProposalView> Evidence);

public sealed record SavedTopic(string Code, int Round, IReadOnlyDictionary<string, AnswerView> Answers, IReadOnlyList<string> Changed, bool Complete);

public sealed record HistoryEntry(int Round, string Question, string? Value, string? Rationale, string RecordedAt);

/// <summary>
/// The expert's side, opened with the invitation secret: the questionnaire of the open round (their fields'
/// topics, the questions, last round's feedback), saving answers topic by topic, rankings and the profile. The work is
/// <see cref="QuestionnaireService"/>'s; this turns it into HTTP.
/// </summary>
public static class QuestionnaireEndpoints
{
    /// <summary>The invitation link (/x/{secret}): signs the expert in with a session cookie and opens their questionnaire.</summary>
    public static void MapInvitationLinks(this IEndpointRouteBuilder app) =>
        app.MapGet("/x/{secret}", async (string secret, HttpContext http, CredentialStore store) =>
        {
            var principal = await store.FromInvitationAsync(secret, CookieAuthenticationDefaults.AuthenticationScheme);
            if (principal is null)
                return Problems.Make(404, "Invitation not valid",
                    "This invitation link is unknown, renewed or revoked. Ask the survey's coordinator for a new one.");
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal);
            return Results.Redirect($"/survey/{principal.ExpertSurveyId()}");
        }).ExcludeFromDescription();

    public static void MapQuestionnaire(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/questionnaire").WithTags("Questionnaire")
            .RequireAuthorization(Policies.Expert).RequireSurveyRole(SurveyRole.Expert);
        group.MapGet("/", Get)
            .WithSummary("The expert's questionnaire: the open round's topics in their fields, the questions, rankings, profile and progress");
        group.MapGet("/topics/{code}", Topic).WithSummary("One topic: its questions, the expert's answers, the previous round's feedback");
        group.MapPut("/topics/{code}", Save).Validate<SaveTopicRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024))
            .Produces<SavedTopic>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("Save answers to one topic; only the questions sent change; null clears one. An Idempotency-Key header makes a retry safe.");
        group.MapGet("/topics/{code}/history", History).WithSummary("Every change the expert made to this topic's answers");
        group.MapPut("/rankings/{ranking}", Rank).Validate<RankingRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024))
            .Produces<RankingView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("Rank the expert's topics (the highest priority first). An Idempotency-Key header makes a retry safe.");
        group.MapPut("/profile", Profile).Validate<ProfileRequest>().WithMetadata(new BodyLimit(16 * 1024))
            .Produces<Dictionary<string, string>>().ProducesProblem(400).ProducesProblem(409);
        group.MapPut("/language", Language).Validate<LanguageRequest>();
    }

    static async Task<Ok<QuestionnaireView>> Get(SurveyRef survey, ClaimsPrincipal user, QuestionnaireService service) =>
        TypedResults.Ok(await service.GetAsync(survey, user));

    static async Task<Results<Ok<TopicSheet>, ProblemHttpResult>> Topic(SurveyRef survey, string code, ClaimsPrincipal user, QuestionnaireService service)
    {
        var (sheet, problem) = await service.TopicAsync(survey, code, user);
        return sheet is not null ? TypedResults.Ok(sheet) : problem!;
    }

    static async Task<Ok<List<HistoryEntry>>> History(SurveyRef survey, string code, ClaimsPrincipal user, QuestionnaireService service) =>
        TypedResults.Ok(await service.HistoryAsync(survey, code, user));

    static Task<IResult> Save(SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user, HttpRequest request, QuestionnaireService service) =>
        SaveAsync(survey, code, body, user, request, service, store: true);

    /// <param name="store">false only for the save ladder's benchmark step (<see cref="SaveLadder"/>): everything but the answer writer</param>
    internal static async Task<IResult> SaveAsync(SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user, HttpRequest request,
        QuestionnaireService service, bool store)
    {
        if (!IdempotencyKey(request, out var key, out var bad)) return bad!;
        var json = JsonOptions(request);
        var (outcome, view) = await service.SaveTopicAsync(survey, code, body, user, key, v => JsonSerializer.Serialize(v, json), store);
        return Answer(outcome, view, json);
    }

    static async Task<IResult> Rank(SurveyRef survey, string ranking, RankingRequest body, ClaimsPrincipal user, HttpRequest request,
        QuestionnaireService service)
    {
        if (!IdempotencyKey(request, out var key, out var bad)) return bad!;
        var json = JsonOptions(request);
        var (outcome, view) = await service.RankAsync(survey, ranking, body, user, key, v => JsonSerializer.Serialize(v, json));
        return Answer(outcome, view, json);
    }

    static async Task<IResult> Profile(SurveyRef survey, ProfileRequest body, ClaimsPrincipal user, HttpRequest request, QuestionnaireService service)
    {
        var outcome = await service.SaveProfileAsync(survey, body, user);
        return Answer(outcome, (outcome as SaveOutcome.ProfileSaved)?.Answers, JsonOptions(request));
    }

    // The survey is not used here, but the survey access filter checks it.
    static async Task<NoContent> Language(SurveyRef survey, LanguageRequest body, ClaimsPrincipal user, QuestionnaireService service)
    {
        await service.SetLanguageAsync(body, user);
        return TypedResults.NoContent();
    }

    static bool IdempotencyKey(HttpRequest request, out string? key, out IResult? bad)
    {
        key = request.Headers["Idempotency-Key"].FirstOrDefault();
        bad = key is { Length: > 200 } ? Problems.BadRequest("Idempotency-Key is longer than 200 characters.") : null;
        return bad is null;
    }

    /// <summary>
    /// A save's answer. With an Idempotency-Key it is the response the writer stored with the save, sent as it is the
    /// first time and on every replay, so a retry gets the very same bytes; without one, the view serialized here.
    /// </summary>
    static IResult Answer<T>(SaveOutcome outcome, T? view, JsonSerializerOptions json) => outcome switch
    {
        { Response: { } stored } => TypedResults.Bytes(Encoding.UTF8.GetBytes(stored), "application/json"),
        // Written as UTF-8 straight away (the busiest answer of the server).
        SaveOutcome.Saved or SaveOutcome.Ranked or SaveOutcome.ProfileSaved => TypedResults.Bytes(JsonSerializer.SerializeToUtf8Bytes(view, json),
            "application/json"),
        SaveOutcome.Closed closed => Problems.Conflict(closed.Window.Message!),
        SaveOutcome.Refused refused => Problems.Conflict(refused.Detail),
        SaveOutcome.NotFound missing => Problems.NotFound(missing.Detail),
        SaveOutcome.BadRequest bad => Problems.BadRequest(bad.Detail),
        SaveOutcome.Invalid invalid => Problems.BadRequest(invalid.Errors.Count == 1 ? invalid.Errors[0].Message + ". Nothing was saved."
            : $"{invalid.Errors.Count} problems; nothing was saved: {invalid.Errors[0].Message} ...", invalid.Errors.Select(e => (object)e.Message)),
        _ => throw new InvalidOperationException($"unknown outcome {outcome.GetType().Name}"),
    };

    static JsonSerializerOptions JsonOptions(HttpRequest request) =>
        request.HttpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
}
