using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;

namespace Foresight.Server.Features.Messages;

public sealed record ModeratedMessage(long Id, string Topic, string Author, int? Round, string Body, string CreatedAt, bool Hidden, string? HiddenReason);

/// <summary>Moderating the experts' topic messages (专家留言): every message, newest first; hide one with a reason, or show it again.</summary>
public sealed class ModeratePage : ConsolePage
{
    public List<ModeratedMessage> Items { get; private set; } = [];

    MessagesService Messages => Service<MessagesService>();

    protected override async Task LoadAsync() => Items = await Messages.ModerationAsync(Survey.Id);

    public async Task<IActionResult> OnPostHideAsync(long id, string? reason)
    {
        var body = new HideRequest(string.IsNullOrWhiteSpace(reason) ? null : reason.Trim());
        return await ActAsync(body, () => Messages.SetHiddenAsync(Survey, id, User, hide: true, body.Reason), "done.message.hidden");
    }

    public async Task<IActionResult> OnPostShowAsync(long id) =>
        await ActAsync(null, () => Messages.SetHiddenAsync(Survey, id, User, hide: false, null), "done.message.shown");
}
