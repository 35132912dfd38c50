using Foresight.Core;
using System.Security.Claims;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Rounds;

public sealed record OpenRoundRequest(DateTimeOffset? Deadline) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        yield break; // a deadline in the past is refused by the service, which knows the time (TimeProvider)
    }
}

public sealed record DeadlineRequest(DateTimeOffset? Deadline) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        yield break; // a deadline in the past is refused by the service, which knows the time (TimeProvider)
    }
}

public sealed record DecisionRequest(string Decision, string? Note) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Decision is not ("carry" or "retire")) yield return "decision must be 'carry' (ask again in the next round) or 'retire'";
        if (Note is { Length: > 2000 }) yield return "note is longer than 2000 characters";
    }
}

public sealed record Participation(int Invited, int Responded, int Finished, double? ResponseRate, double? FinishedRate, int? DroppedOut, double? DropOutRate);

public sealed record FieldProgress(string Field, int Experts, int Responded, int Topics, int TopicAnswers, int TopicAnswersExpected);

public sealed record RoundView(
    int Number, RoundStatus Status, int RulesVersion, string OpenedAt, string? Deadline, string? ClosedAt, string? DataHash,
    int Topics, Participation Participation, IReadOnlyList<FieldProgress> Fields, double? SettledPct, bool? StopRecommended, string? StopReason);

public sealed record TopicConsensus(
    string Code, string Field, LocalizedText Title, int Respondents, int NotFamiliar, string State, bool? Stable, bool Settled, bool Polarized,
    string? Proposed, string? Decision, string? DecisionNote,
    [property: System.Text.Json.Serialization.JsonConverter(typeof(QuestionResultsJson))] IReadOnlyList<QuestionResult> Questions);

public sealed record ConsensusView(
    int Round, RoundStatus Status, int RulesVersion, string? DataHash, double SettledPct, bool StopRecommended, string StopReason,
    IReadOnlyList<RankingResult> Rankings, IReadOnlyList<TopicConsensus> Topics);

/// <summary>The rounds' API.</summary>
public static class RoundsEndpoints
{
    public static IServiceCollection AddRounds(this IServiceCollection services) => services
        .AddSingleton<ConsensusService>()
        .AddSingleton<RoundService>()
        .AddSingleton<RoundLifecycle>()
        .AddChangeHandler<RoundOpened, RoundLifecycle>().AddChangeHandler<DeadlineChanged, RoundLifecycle>();

    public static void MapRounds(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/rounds").WithTags("Rounds")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", async (SurveyRef survey, RoundService rounds) => TypedResults.Ok(await rounds.ListAsync(survey)));
        group.MapPost("/", (SurveyRef survey, OpenRoundRequest body, ClaimsPrincipal user, HttpRequest request, IOptions<ForesightOptions> options,
            RoundService rounds) =>
                rounds.OpenAsync(survey, body, user, Links.Base(request, options))
                .ToHttp(r => TypedResults.Created($"/api/surveys/{survey.Id}/rounds/{r.Number}", r)))
            .Validate<OpenRoundRequest>()
            .WithSummary("Open the next round: round 1 with every topic, later rounds with the topics carried from the last one");
        group.MapGet("/{number:int}", (SurveyRef survey, int number, RoundService rounds) => rounds.GetAsync(survey, number).ToHttp(TypedResults.Ok));
        group.MapPost("/{number:int}/close", (SurveyRef survey, int number, ClaimsPrincipal user, RoundService rounds) =>
                rounds.CloseAsync(survey, number, user).ToHttp(TypedResults.Ok))
            .WithSummary("Close the round: its consensus is computed, stored and hashed, and the stop rule proposes which topics go on");
        group.MapPut("/{number:int}/deadline", (SurveyRef survey, int number, DeadlineRequest body, ClaimsPrincipal user, RoundService rounds) =>
            rounds.SetDeadlineAsync(survey, number, body, user).ToHttp(TypedResults.Ok)).Validate<DeadlineRequest>();
        group.MapGet("/{number:int}/consensus", GetConsensus)
            .WithSummary("Per topic and question: n, median, quartiles, IQR, agreement, indices, state; live while the round is open");
        group.MapPut("/{number:int}/topics/{code}/decision", (SurveyRef survey, int number, string code, DecisionRequest body, ClaimsPrincipal user,
            RoundService rounds) =>
                rounds.DecideAsync(survey, number, code, body, user).ToHttp(TypedResults.Ok))
            .Validate<DecisionRequest>()
            .WithSummary("Override the stop rule for one topic before the next round opens");
    }

    static async Task<Results<Ok<ConsensusView>, ProblemHttpResult>> GetConsensus(SurveyRef survey, int number, RoundService rounds,
        IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    {
        var outcome = await rounds.ConsensusAsync(survey, number);
        // Each topic's question results are written to JSON ahead, on every core (a national round has 700 topics).
        if (outcome.Value is { } view) QuestionResultsJson.Prepare(view.Topics.Select(t => t.Questions), json.Value.SerializerOptions);
        return outcome.ToHttp(TypedResults.Ok);
    }
}
