using System.Security.Claims;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Features.Messages;

public sealed record PostMessage(string Body, long? ReplyTo) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Body)) yield return "body is empty";
        else if (Body.Trim().Length > 4000) yield return $"body has {Body.Trim().Length} characters; at most 4000 are taken";
    }
}

public sealed record HideRequest(string? Reason) : IValidatable
{
    public IEnumerable<string> Validate()
    {
        if (Reason is { Length: > 1000 }) yield return "reason is longer than 1000 characters";
    }
}

/// <param name="Author">the writer's pseudonym ("Expert K7QF"), or "Coordinator"; never a name</param>
/// <param name="Hidden">only coordinators see hidden messages</param>
public sealed record MessageView(long Id, string Topic, string Author, bool Mine, long? ReplyTo, int? Round, string Body, string CreatedAt, bool Hidden,
    string? HiddenReason);

/// <summary>
/// Topic messages (专家留言): experts of the topic's field read and write them under their pseudonyms and reply to each
/// other; coordinators read all, write as "Coordinator", and hide what should not be shown. The work is
/// <see cref="MessagesService"/>'s; this turns it into HTTP.
/// </summary>
public static class MessagesEndpoints
{
    public static void MapMessages(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}").WithTags("Messages")
            .RequireAuthorization().RequireSurveyRole(SurveyRole.Coordinator | SurveyRole.Expert);
        group.MapGet("/topics/{code}/messages", List);
        group.MapPost("/topics/{code}/messages", Post).Validate<PostMessage>().WithMetadata(new BodyLimit(32 * 1024)).RequireRateLimiting(RateLimits.Answers);
        group.MapPost("/messages/{id:long}/hide", Hide).Validate<HideRequest>();
        group.MapPost("/messages/{id:long}/unhide", Unhide);
    }

    static Task<Results<Ok<List<MessageView>>, ProblemHttpResult>> List(SurveyRef survey, string code, ClaimsPrincipal user, MessagesService messages) =>
        messages.ListAsync(survey, code, user).ToHttp(TypedResults.Ok);

    static Task<Results<Created<MessageView>, ProblemHttpResult>> Post(SurveyRef survey, string code, PostMessage body, ClaimsPrincipal user,
        MessagesService messages) =>
        messages.PostAsync(survey, code, body, user).ToHttp(posted => TypedResults.Created($"/api/surveys/{survey.Id}/topics/{code}/messages", posted));

    static Task<Results<NoContent, ProblemHttpResult>> Hide(SurveyRef survey, long id, HideRequest body, ClaimsPrincipal user, MessagesService messages) =>
        messages.SetHiddenAsync(survey, id, user, hide: true, body.Reason).ToNoContent();

    static Task<Results<NoContent, ProblemHttpResult>> Unhide(SurveyRef survey, long id, ClaimsPrincipal user, MessagesService messages) =>
        messages.SetHiddenAsync(survey, id, user, hide: false, null).ToNoContent();
}
