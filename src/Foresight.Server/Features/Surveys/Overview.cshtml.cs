using System.Globalization;
using Foresight.Server.Features.Consensus;
using Foresight.Server.Features.Live;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Questionnaire;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Stakeholders;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Surveys;

/// <summary>
/// A survey at a glance for its coordinators: its rounds with participation, opening and closing rounds with
/// deadlines, the e-mail sent to the panel, stakeholder access, and the survey file (replaceable while a draft).
/// </summary>
public sealed class OverviewPage : ConsolePage
{
    public SurveyDetail Detail { get; private set; } = null!;
    public List<RoundView> Rounds { get; private set; } = [];
    public List<StakeholderView> Stakeholders { get; private set; } = [];
    public List<OutboxEntry> Mail { get; private set; } = [];
    public List<CoordinatorView> Coordinators { get; private set; } = [];
    public bool IsAdmin => User.IsAdmin();
    public RoundView? OpenRound => Rounds.FirstOrDefault(r => r.Status == "open");

    protected override async Task LoadAsync()
    {
        Detail = await SurveysEndpoints.DetailAsync(Db, Service<SurveyCatalog>(), Survey.Id);
        Rounds = (await RoundsEndpoints.List(Survey, Db, Service<SurveyCatalog>())).Value!;
        Stakeholders = (await StakeholdersEndpoints.List(Survey, Db)).Value!;
        Mail = (await MailEndpoints.List(Survey, Db, null)).Value!;
        Coordinators = (await SurveysEndpoints.Coordinators(Survey, Db)).Value!;
    }

    /// <summary>A deadline typed in a datetime-local field, read as UTC (the page says so).</summary>
    DateTimeOffset? Deadline() =>
        DateTime.TryParse(Request.Form["deadline"], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d)
            ? new DateTimeOffset(d, TimeSpan.Zero) : null;

    public async Task<IActionResult> OnPostOpenAsync()
    {
        var body = new OpenRoundRequest(Deadline());
        return await ActAsync(body, async () => await RoundsEndpoints.Open(Survey, body, User, Db, Service<SurveyCatalog>(), Service<LivePublisher>(),
            Service<QuestionnaireCache>(), Service<RoundLifecycle>(), Request, Service<IOptions<ForesightOptions>>()), "done.round.opened");
    }

    public async Task<IActionResult> OnPostCloseAsync(int number) =>
        await ActAsync(null, async () => await RoundsEndpoints.Close(Survey, number, User, Response, Db, Service<SurveyCatalog>(), Service<ConsensusService>(),
            Service<RoundLifecycle>()), "done.round.closed");

    public async Task<IActionResult> OnPostDeadlineAsync(int number)
    {
        var body = new DeadlineRequest(Deadline());
        return await ActAsync(body, async () => await RoundsEndpoints.SetDeadline(Survey, number, body, User, Db, Service<SurveyCatalog>(),
            Service<LivePublisher>(), Service<QuestionnaireCache>(), Service<RoundLifecycle>()), "done.deadline");
    }

    public async Task<IActionResult> OnPostGrantAsync(string? email)
    {
        var body = new GrantRequest(email ?? "");
        return await ActAsync(body, async () => await StakeholdersEndpoints.Grant(Survey, body, User, Db), "done.granted");
    }

    public async Task<IActionResult> OnPostRevokeAsync(long userId) =>
        await ActAsync(null, async () => await StakeholdersEndpoints.Revoke(Survey, userId, User, Db, Service<ChangeEvents>()), "done.revoked");

    // A survey's coordinators are granted and removed by admins only (the API's endpoints say so too).
    public async Task<IActionResult> OnPostAddCoordinatorAsync(string? email)
    {
        if (!User.IsAdmin()) return Forbid();
        var body = new CoordinatorRequest(email ?? "");
        return await ActAsync(body, async () => await SurveysEndpoints.AddCoordinator(Survey, body, User, Db), "done.coordinator.added");
    }

    public async Task<IActionResult> OnPostRemoveCoordinatorAsync(long userId)
    {
        if (!User.IsAdmin()) return Forbid();
        return await ActAsync(null, async () => await SurveysEndpoints.RemoveCoordinator(Survey, userId, User, Db, Service<ChangeEvents>()), "done.coordinator.removed");
    }

    public async Task<IActionResult> OnPostReplaceAsync() =>
        await ActAsync(null, async () => await SurveysEndpoints.Replace(Survey, Request, User, Db, Service<SurveyCatalog>()), "done.replaced");
}
