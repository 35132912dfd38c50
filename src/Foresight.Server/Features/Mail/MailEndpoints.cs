using Dapper;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Foresight.Server.Features.Mail;

public sealed class OutboxEntry
{
    public long Id { get; init; }
    public string Kind { get; init; } = "";
    public int? Round { get; init; }
    public string ToName { get; init; } = "";
    public string ToAddress { get; init; } = "";
    public string Language { get; init; } = "";
    public string Subject { get; init; } = "";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public string? LastError { get; init; }
    public string CreatedAt { get; init; } = "";
    public string? SentAt { get; init; }
    public string NextAttemptAt { get; init; } = "";
}

/// <summary>The survey's e-mail as coordinators follow it: what was queued, sent, is waiting for a retry, or failed.</summary>
public static class MailEndpoints
{
    public static void MapMail(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/surveys/{survey}/outbox").WithTags("Mail")
            .RequireAuthorization(Policies.Coordinator).RequireSurveyRole(SurveyRole.Coordinator);
        group.MapGet("/", List).WithSummary("The survey's e-mails (invitations, reminders, thanks) with their state, newest first");
    }

    internal static async Task<Ok<List<OutboxEntry>>> List(SurveyRef survey, Db db, string? status)
    {
        await using var c = await db.OpenAsync();
        var rows = await c.QueryAsync<OutboxEntry>("""
            SELECT o.id, o.kind, r.number AS round, o.to_name, o.to_address, o.language, o.subject, o.status, o.attempts, o.last_error,
                   o.created_at, o.sent_at, o.next_attempt_at
            FROM outbox o LEFT JOIN rounds r ON r.id = o.round_id
            WHERE o.survey_id = @Id AND (@status IS NULL OR o.status = @status) ORDER BY o.id DESC
            """, new { survey.Id, status });
        return TypedResults.Ok(rows.ToList());
    }
}
