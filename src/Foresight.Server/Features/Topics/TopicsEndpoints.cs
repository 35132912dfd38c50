using System.Security.Claims;
using System.Text.RegularExpressions;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Topics;

public sealed record NewTopic(string Code, string Field, TextInput Title, TextInput? Background, IReadOnlyList<string>? Tags, string? Origin) : IValidatable
{
    public IEnumerable<string> Validate() => TopicRules.Check(Code, Title, Background, Tags, Origin);
}

public sealed record TopicChange(TextInput? Title, TextInput? Background, IReadOnlyList<string>? Tags, string? Field, string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Title is null && Background is null && Tags is null && Field is null) yield return "say what changes: title, background, tags or field";
        foreach (var e in TopicRules.Check(null, Title, Background, Tags, null)) yield return e;
        if (Reason is { Length: > 2000 }) yield return "reason is longer than 2000 characters";
    }
}

public sealed record MergeRequest(IReadOnlyList<string> Topics, string Code, string? Field, TextInput Title, TextInput? Background, IReadOnlyList<string>? Tags,
    string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Topics is null || Topics.Distinct().Count() < 2) yield return "topics must name at least two different topics to merge";
        foreach (var e in TopicRules.Check(Code, Title, Background, Tags, null)) yield return e;
    }
}

public sealed record SplitPart(string Code, TextInput Title, TextInput? Background, string? Field, IReadOnlyList<string>? Tags);

public sealed record SplitRequest(IReadOnlyList<SplitPart> Into, string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Into is null || Into.Count < 2) yield return "into must list at least two new topics";
        else
        {
            foreach (var part in Into)
                foreach (var e in TopicRules.Check(part.Code, part.Title, part.Background, part.Tags, null)) yield return e;
            if (Into.Select(p => p.Code).Distinct().Count() != Into.Count) yield return "the new topics need different codes";
        }
    }
}

public sealed record TopicRevision(int AfterRound, LocalizedText Title, LocalizedText? Background, string? Reason, string CreatedAt);

public static partial class TopicRules
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] private static partial Regex CodePattern();

    public static IEnumerable<string> Check(string? code, TextInput? title, TextInput? background, IReadOnlyList<string>? tags, string? origin)
    {
        if (code is not null && !CodePattern().IsMatch(code)) yield return $"topic code '{code}' must be 1-32 letters, digits, '-' or '_'";
        if (title is not null && string.IsNullOrWhiteSpace(title.Zh) && string.IsNullOrWhiteSpace(title.En)) yield return "title needs text in zh and/or en";
        if (title is { Zh.Length: > 1000 } or { En.Length: > 1000 }) yield return "title is longer than 1000 characters";
        if (background is { Zh.Length: > 10000 } or { En.Length: > 10000 }) yield return "background is longer than 10000 characters";
        if (tags is { Count: > 20 } || tags?.Any(t => t.Length > 50 || t.Contains(',')) == true)
            yield return "tags: at most 20, each at most 50 characters, no commas";
        if (origin is not null && origin is not ("coordinator" or "expert" or "machine")) yield return "origin must be coordinator, expert or machine";
    }
}

/// <summary>The topic list's API.</summary>
public static class TopicsEndpoints
{
    public static IServiceCollection AddTopics(this IServiceCollection services) => services.AddSingleton<TopicsService>();

    public static void MapTopics(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/topics").WithTags("Topics")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", async (SurveyRef survey, TopicsService topics) => TypedResults.Ok(await topics.ListAsync(survey)));
        group.MapPost("/", (SurveyRef survey, NewTopic body, ClaimsPrincipal user, TopicsService topics) =>
            topics.AddAsync(survey, body, user).ToHttp(v => TypedResults.Created($"/api/surveys/{survey.Id}/topics/{v.Code}", v))).Validate<NewTopic>();
        group.MapPatch("/{code}", (SurveyRef survey, string code, TopicChange body, ClaimsPrincipal user, TopicsService topics) =>
            topics.ChangeAsync(survey, code, body, user).ToHttp(TypedResults.Ok)).Validate<TopicChange>()
            .WithSummary("Reword a topic (its earlier wording is kept), change its tags or move it to another field");
        group.MapGet("/{code}/revisions", (SurveyRef survey, string code, TopicsService topics) => topics.RevisionsAsync(survey, code).ToHttp(TypedResults.Ok));
        group.MapPost("/merge", (SurveyRef survey, MergeRequest body, ClaimsPrincipal user, TopicsService topics) =>
            topics.MergeAsync(survey, body, user).ToHttp(v => TypedResults.Created($"/api/surveys/{survey.Id}/topics/{v.Code}", v))).Validate<MergeRequest>()
            .WithSummary("Merge topics into a new one; the merged topics leave the list");
        group.MapPost("/{code}/split", (SurveyRef survey, string code, SplitRequest body, ClaimsPrincipal user, TopicsService topics) =>
            topics.SplitAsync(survey, code, body, user).ToHttp(v => TypedResults.Created($"/api/surveys/{survey.Id}/topics", v))).Validate<SplitRequest>()
            .WithSummary("Split a topic into new ones; the split topic leaves the list");
        group.MapDelete("/{code}", (SurveyRef survey, string code, ClaimsPrincipal user, TopicsService topics) =>
            topics.RemoveAsync(survey, code, user).ToNoContent()).WithSummary("Remove a topic: deleted before round 1, withdrawn afterwards");
    }
}
