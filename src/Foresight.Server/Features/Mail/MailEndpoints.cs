using Foresight.Core;
using Dapper;
using Foresight.Server.Plumbing;

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
    public MailStatus Status { get; init; } = MailStatus.Queued;
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
        group.MapGet("/", async (SurveyRef survey, string? status, Outbox outbox) => TypedResults.Ok(await outbox.ListAsync(survey.Id, status)))
            .WithSummary("The survey's e-mails (invitations, reminders, thanks) with their state, newest first");
    }
}
