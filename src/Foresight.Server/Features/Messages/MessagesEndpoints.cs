using System.Security.Claims;
using Dapper;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Data.Sqlite;

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
public sealed record MessageView(long Id, string Topic, string Author, bool Mine, long? ReplyTo, int? Round, string Body, string CreatedAt, bool Hidden, string? HiddenReason);

/// <summary>
/// Topic messages (专家留言): experts of the topic's field read and write them under their pseudonyms and reply to each
/// other; coordinators read all, write as "Coordinator", and hide what should not be shown.
/// </summary>
public static class MessagesEndpoints
{
    public const int Coordinator = 0;

    public static void MapMessages(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}").WithTags("Messages")
            .RequireAuthorization().RequireSurveyRole(SurveyRole.Coordinator | SurveyRole.Expert);
        group.MapGet("/topics/{code}/messages", List);
        group.MapPost("/topics/{code}/messages", Post).Validate<PostMessage>().WithMetadata(new BodyLimit(32 * 1024)).RequireRateLimiting(RateLimits.Answers);
        group.MapPost("/messages/{id:long}/hide", Hide).Validate<HideRequest>();
        group.MapPost("/messages/{id:long}/unhide", Unhide);
    }

    /// <summary>An expert sees the messages of topics in their fields; a coordinator sees every topic.</summary>
    internal static async Task<(TopicRow? Topic, ProblemHttpResult? Error)> TopicAsync(SqliteConnection c, SurveyRef survey, string code, ClaimsPrincipal user)
    {
        var topic = await SurveyStore.TopicAsync(c, survey.Id, code);
        if (topic is null) return (null, Problems.NotFound($"Survey '{survey.Slug}' has no topic '{code}'."));
        if (user.MemberId() is { } member &&
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM panel_fields WHERE member_id = @member AND field_id = @FieldId", new { member, topic.FieldId }) == 0)
            return (null, Problems.NotFound($"Topic '{code}' is not in your fields."));
        return (topic, null);
    }

    internal static async Task<Results<Ok<List<MessageView>>, ProblemHttpResult>> List(SurveyRef survey, string code, ClaimsPrincipal user, Db db)
    {
        await using var c = await db.OpenAsync();
        var (topic, error) = await TopicAsync(c, survey, code, user);
        if (error is not null) return error;
        bool coordinator = user.MemberId() is null;
        var rows = await c.QueryAsync<(long Id, long? MemberId, string? Pseudonym, long? ReplyTo, long? RoundNumber, string Body, string CreatedAt, string? HiddenAt, string? HiddenReason)>("""
            SELECT g.id, g.member_id, m.pseudonym, g.reply_to, g.round_number, g.body, g.created_at, g.hidden_at, g.hidden_reason
            FROM messages g LEFT JOIN panel_members m ON m.id = g.member_id
            WHERE g.topic_id = @Id AND (@coordinator = 1 OR g.hidden_at IS NULL) ORDER BY g.id
            """, new { topic!.Id, coordinator = coordinator ? 1 : 0 });
        var me = user.MemberId();
        return TypedResults.Ok(rows.Select(r => new MessageView(r.Id, code, r.Pseudonym is null ? "Coordinator" : $"Expert {r.Pseudonym}",
            me is not null && r.MemberId == me, r.ReplyTo, (int?)r.RoundNumber, r.Body, r.CreatedAt, r.HiddenAt is not null, coordinator ? r.HiddenReason : null)).ToList());
    }

    internal static async Task<Results<Created<MessageView>, ProblemHttpResult>> Post(SurveyRef survey, string code, PostMessage body, ClaimsPrincipal user, Db db)
    {
        await using var c = await db.OpenAsync();
        var (topic, error) = await TopicAsync(c, survey, code, user);
        if (error is not null) return error;
        var round = await RoundStore.OpenRoundAsync(c, survey.Id);
        if (user.MemberId() is not null && round is null)
            return Problems.Conflict("Messages are written while a round is open.");
        if (body.ReplyTo is { } parent &&
            await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE id = @parent AND topic_id = @Id AND hidden_at IS NULL", new { parent, topic!.Id }) == 0)
            return Problems.BadRequest($"Message {parent} is not a visible message of topic '{code}'.");
        var now = Db.Iso(DateTimeOffset.UtcNow);
        long id;
        await using (var w = await db.BeginWriteAsync())
        {
            id = await w.Connection.ExecuteScalarAsync<long>("""
                INSERT INTO messages (survey_id, topic_id, member_id, user_id, reply_to, round_number, body, created_at)
                VALUES (@surveyId, @topicId, @member, @userId, @ReplyTo, @round, @text, @now) RETURNING id
                """, new { surveyId = survey.Id, topicId = topic!.Id, member = user.MemberId(), userId = user.UserId(), body.ReplyTo, round = round?.Number, text = body.Body.Trim(), now }, w.Transaction);
            await w.CommitAsync();
        }
        var author = user.MemberId() is null ? "Coordinator" : $"Expert {user.Identity!.Name}";
        return TypedResults.Created($"/api/surveys/{survey.Id}/topics/{code}/messages", new MessageView(id, code, author, true, body.ReplyTo, round?.Number, body.Body.Trim(), now, false, null));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> Hide(SurveyRef survey, long id, HideRequest body, ClaimsPrincipal user, Db db) =>
        await SetHiddenAsync(survey, id, user, db, hide: true, body.Reason);

    internal static async Task<Results<NoContent, ProblemHttpResult>> Unhide(SurveyRef survey, long id, ClaimsPrincipal user, Db db) =>
        await SetHiddenAsync(survey, id, user, db, hide: false, null);

    internal static async Task<Results<NoContent, ProblemHttpResult>> SetHiddenAsync(SurveyRef survey, long id, ClaimsPrincipal user, Db db, bool hide, string? reason)
    {
        if (user.MemberId() is not null) return Problems.Forbidden("Only coordinators moderate messages.");
        await using var w = await db.BeginWriteAsync();
        var (c, tx) = w;
        var n = await c.ExecuteAsync(hide
            ? "UPDATE messages SET hidden_at = @now, hidden_by = @userId, hidden_reason = @reason WHERE id = @id AND survey_id = @surveyId"
            : "UPDATE messages SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL WHERE id = @id AND survey_id = @surveyId",
            new { now = Db.Iso(DateTimeOffset.UtcNow), userId = user.UserId(), reason, id, surveyId = survey.Id }, tx);
        if (n == 0) return Problems.NotFound($"Survey '{survey.Slug}' has no message {id}.");
        await Audit.LogAsync(c, tx, user.UserId(), survey.Id, hide ? "message.hidden" : "message.shown", new { id, reason });
        await tx.CommitAsync();
        return TypedResults.NoContent();
    }
}
