using Foresight.Core;
using System.Globalization;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Stakeholders;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Console;

/// <summary>
/// A survey at a glance for its coordinators: its rounds with participation, opening and closing rounds with
/// deadlines, the e-mail sent to the panel, its coordinators, stakeholder access, and the survey file (replaceable while
/// a draft). It brings several features' services together, so it lives in the console.
/// </summary>
public sealed class SurveyPage(SurveysService surveys, RoundService rounds, StakeholdersService stakeholders, Outbox outbox, IOptions<ForesightOptions> options)
    : ConsolePage
{
    public SurveyDetail Detail { get; private set; } = null!;
    public List<RoundView> Rounds { get; private set; } = [];
    public List<StakeholderView> Stakeholders { get; private set; } = [];
    public List<OutboxEntry> Mail { get; private set; } = [];
    public List<CoordinatorView> Coordinators { get; private set; } = [];
    public bool IsAdmin => User.IsAdmin();
    public RoundView? OpenRound => Rounds.FirstOrDefault(r => r.Status == RoundStatus.Open);

    protected override async Task LoadAsync()
    {
        Detail = await surveys.DetailAsync(Survey.Id);
        Rounds = await rounds.ListAsync(Survey);
        Stakeholders = await stakeholders.ListAsync(Survey);
        Mail = await outbox.ListAsync(Survey.Id, null);
        Coordinators = await surveys.CoordinatorsAsync(Survey);
    }

    /// <summary>A deadline typed in a datetime-local field, read as UTC (the page says so).</summary>
    DateTimeOffset? Deadline() =>
        DateTime.TryParse(Request.Form["deadline"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? new DateTimeOffset(d, TimeSpan.Zero) : null;

    public async Task<IActionResult> OnPostOpenAsync()
    {
        var body = new OpenRoundRequest(Deadline());
        return await ActAsync(body, () => rounds.OpenAsync(Survey, body, User, Links.Base(Request, options)), "done.round.opened");
    }

    public async Task<IActionResult> OnPostCloseAsync(int number) =>
        await ActAsync(null, () => rounds.CloseAsync(Survey, number, User), "done.round.closed");

    public async Task<IActionResult> OnPostDeadlineAsync(int number)
    {
        var body = new DeadlineRequest(Deadline());
        return await ActAsync(body, () => rounds.SetDeadlineAsync(Survey, number, body, User), "done.deadline");
    }

    public async Task<IActionResult> OnPostGrantAsync(string? email)
    {
        var body = new GrantRequest(email ?? "");
        return await ActAsync(body, () => stakeholders.GrantAsync(Survey, body, User), "done.granted");
    }

    public async Task<IActionResult> OnPostRevokeAsync(long userId) =>
        await ActAsync(null, () => stakeholders.RevokeAsync(Survey, userId, User), "done.revoked");

    // A survey's coordinators are granted and removed by admins only (the API's endpoints say so too).
    public async Task<IActionResult> OnPostAddCoordinatorAsync(string? email)
    {
        if (!User.IsAdmin()) return Forbid();
        var body = new CoordinatorRequest(email ?? "");
        return await ActAsync(body, () => surveys.AddCoordinatorAsync(Survey, body, User), "done.coordinator.added");
    }

    public async Task<IActionResult> OnPostRemoveCoordinatorAsync(long userId)
    {
        if (!User.IsAdmin()) return Forbid();
        return await ActAsync(null, () => surveys.RemoveCoordinatorAsync(Survey, userId, User), "done.coordinator.removed");
    }

    public async Task<IActionResult> OnPostReplaceAsync()
    {
        var (text, fileName, error) = await Uploads.ReadTextAsync(Request);
        return await ActAsync(null, () => error is not null ? Task.FromResult<Outcome<SurveyDetail>>(error)
            : surveys.ReplaceAsync(Survey, text!, fileName, User),
            "done.replaced");
    }
}
