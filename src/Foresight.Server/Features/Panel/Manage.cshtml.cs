using Foresight.Server.Features.Experts;
using Foresight.Server.Features.Mail;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Panel;

/// <summary>
/// The expert pool (shared by every survey, seen per coordinator: add one, import a CSV) and this survey's panel: who
/// answers which fields, their invitation e-mails, and their personal links (shown once when made; renew or revoke).
/// </summary>
public sealed class ManagePage(PanelService panel, ExpertService experts, Outbox outbox, IOptions<ForesightOptions> options) : ConsolePage
{
    public List<MemberView> Members { get; private set; } = [];
    public List<ExpertView> Pool { get; private set; } = [];
    public Dictionary<string, OutboxEntry> Invitations { get; private set; } = [];
    public List<Invitation> NewLinks { get; } = [];
    public ImportResult? Imported { get; private set; }
    [BindProperty(SupportsGet = true)] public string? Q { get; set; }

    protected override async Task LoadAsync()
    {
        Members = await panel.ListAsync(Survey);
        Pool = await experts.ListAsync(User, string.IsNullOrWhiteSpace(Q) ? null : Q.Trim(), null);
        Invitations = (await outbox.ListAsync(Survey.Id, null)).Where(m => m.Kind == "invitation")
            .GroupBy(m => m.ToAddress, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.First(), StringComparer.OrdinalIgnoreCase);
    }

    List<string>? Fields(string name) => Request.Form[name].Where(f => !string.IsNullOrEmpty(f)).Select(f => f!).ToList() is { Count: > 0 } l ? l : null;

    public async Task<IActionResult> OnPostAddAsync()
    {
        var ids = Request.Form["experts"].Select(x => long.TryParse(x, out var id) ? id : 0).Where(id => id > 0).ToList();
        if (ids.Count == 0) return await FailAsync(Ui.T("panel.pick"), [], 400);
        var fields = Fields("fields");
        var body = new PanelRequest(ids.Select(id => new PanelAddition(id, null, fields)).ToList());
        return await ActAsync(body, () => panel.AddAsync(Survey, body, User, Links.Base(Request, options)), "done.panel.added", NewLinks.AddRange);
    }

    public async Task<IActionResult> OnPostAddByEmailAsync(string? email)
    {
        var body = new PanelRequest([new PanelAddition(null, email?.Trim() ?? "", Fields("fields"))]);
        return await ActAsync(body, () => panel.AddAsync(Survey, body, User, Links.Base(Request, options)), "done.panel.added", NewLinks.AddRange);
    }

    public async Task<IActionResult> OnPostFieldsAsync(long member)
    {
        var body = new FieldsRequest(Fields("fields") ?? []);
        return await ActAsync(body, () => panel.SetFieldsAsync(Survey, member, body, User), "done.panel.fields");
    }

    public async Task<IActionResult> OnPostRenewAsync(long member) =>
        await ActAsync(null, () => panel.RenewAsync(Survey, member, User, Links.Base(Request, options)), "done.panel.renewed", NewLinks.Add);

    public async Task<IActionResult> OnPostRevokeAsync(long member) =>
        await ActAsync(null, () => panel.RevokeAsync(Survey, member, User), "done.panel.revoked");

    public async Task<IActionResult> OnPostExpertAsync(string? name, string? email, string? organisation, string? orgType, string? region, string? expertise,
        string? language)
    {
        var body = new ExpertInput(name?.Trim() ?? "", email?.Trim() ?? "", Blank(organisation), Blank(orgType), Blank(region), null,
            expertise?.Split([',', ' ', '，', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Blank(language));
        return await ActAsync(body, () => experts.AddAsync(body, User), "done.expert.added");
    }

    public async Task<IActionResult> OnPostImportAsync()
    {
        var (text, fileName, error) = await Uploads.ReadTextAsync(Request, "experts.csv");
        return await ActAsync(null, () => error is not null ? Task.FromResult<Outcome<ImportResult>>(error) : experts.ImportAsync(text!, fileName, User),
            "done.expert.imported", v => Imported = v);
    }

    static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
