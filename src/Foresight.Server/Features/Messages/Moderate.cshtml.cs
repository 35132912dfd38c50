using Dapper;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;

namespace Foresight.Server.Features.Messages;

public sealed record ModeratedMessage(long Id, string Topic, string Author, int? Round, string Body, string CreatedAt, bool Hidden, string? HiddenReason);

/// <summary>Moderating the experts' topic messages (专家留言): every message, newest first; hide one with a reason, or show it again.</summary>
public sealed class ModeratePage : ConsolePage
{
    public List<ModeratedMessage> Items { get; private set; } = [];

    protected override async Task LoadAsync()
    {
        await using var c = await Db.OpenAsync();
        Items = (await c.QueryAsync<(long Id, string Topic, string? Pseudonym, long? Round, string Body, string CreatedAt, string? HiddenAt, string? HiddenReason)>("""
            SELECT g.id, t.code, m.pseudonym, g.round_number, g.body, g.created_at, g.hidden_at, g.hidden_reason
            FROM messages g JOIN topics t ON t.id = g.topic_id LEFT JOIN panel_members m ON m.id = g.member_id
            WHERE g.survey_id = @Id ORDER BY g.id DESC LIMIT 1000
            """, new { Survey.Id }))
            .Select(r => new ModeratedMessage(r.Id, r.Topic, r.Pseudonym ?? "", (int?)r.Round, r.Body, r.CreatedAt, r.HiddenAt is not null, r.HiddenReason)).ToList();
    }

    public async Task<IActionResult> OnPostHideAsync(long id, string? reason)
    {
        var body = new HideRequest(string.IsNullOrWhiteSpace(reason) ? null : reason.Trim());
        return await ActAsync(body, async () => await MessagesEndpoints.Hide(Survey, id, body, User, Db), "done.message.hidden");
    }

    public async Task<IActionResult> OnPostShowAsync(long id) =>
        await ActAsync(null, async () => await MessagesEndpoints.Unhide(Survey, id, User, Db), "done.message.shown");
}
