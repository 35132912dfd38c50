using Foresight.Core;
using Dapper;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Surveys;
using Microsoft.Extensions.Options;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Foresight.Server.Features.Reports;

/// <param name="Status">the latest render's status: ready, queued, rendering, failed, or null when none was made</param>
public sealed record ReportsPageEntry(string Kind, int Round, string Language, ReportStatus? Status, string? RenderedAt, long? PdfBytes, string? Error,
    string? PublishedAt, string Pdf, string Html);

public sealed record ReportsPageSurvey(string Slug, LocalizedText Title, bool Coordinates, bool Exports, List<ReportsPageEntry> Reports);

/// <summary>
/// The reports page: stakeholders see the published reports of the surveys granted to them and download PDF, web page
/// and consensus exports; coordinators see every report with its state, have it rendered, and publish it.
/// </summary>
[Authorize(Policy = Policies.User)]
public sealed class ReportsPage(Db db, SurveyCatalog catalog, ReportService reports, IOptions<ForesightOptions> options) : PageModel
{
    public List<ReportsPageSurvey> Surveys { get; private set; } = [];
    /// <summary>After publishing: the new link, shown once (only its hash is stored).</summary>
    public string? NewLink { get; private set; }
    public string? Message { get; private set; }

    [BindProperty] public string? Survey { get; set; }
    [BindProperty] public string? Kind { get; set; }
    [BindProperty] public int Round { get; set; }
    [BindProperty] public string? Language { get; set; }

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostRenderAsync()
    {
        var (target, refusal) = await TargetAsync();
        if (target is null) return refusal!;
        var status = await reports.RequestAsync(target.Id, Kind!, Round, Language!, User.UserId());
        Message = status.Name;
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostPublishAsync()
    {
        var (target, refusal) = await TargetAsync();
        if (target is null) return refusal!;
        NewLink = await reports.PublishAsync(target, Kind!, Round, Language!, User.UserId(), Links.Base(Request, options));
        await LoadAsync();
        return Page();
    }

    /// <summary>
    /// The survey a form acts on, when the caller coordinates it and the form names a report that can exist. Who comes
    /// first: a form for a survey the caller does not coordinate is refused whatever else it says.
    /// </summary>
    async Task<(SurveyRef? Target, IActionResult? Refusal)> TargetAsync()
    {
        await using var c = await db.OpenAsync();
        var id = Survey is null ? null : await c.QuerySingleOrDefaultAsync<long?>("SELECT id FROM surveys WHERE slug = @Survey", new { Survey });
        if (id is null) return (null, NotFound());
        if (!await SurveyAccessFilter.CoordinatesAsync(HttpContext, User, id.Value)) return (null, Forbid());
        // The page's own forms always name a kind and language; only a hand-made request lacks them.
        if (Kind is not ("round" or "study") || Languages.Normalize(Language) is not { } language) return (null, BadRequest());
        Language = language;
        return (new SurveyRef(id.Value, Survey!), null);
    }

    async Task LoadAsync()
    {
        await using var c = await db.OpenAsync();
        bool stakeholder = User.IsInRole(Roles.Stakeholder);
        var surveys = await c.QueryAsync<(long Id, string Slug)>("""
            SELECT id, slug FROM surveys
            WHERE @admin = 1
               OR @stakeholder = 0 AND id IN (SELECT survey_id FROM survey_coordinators WHERE user_id = @userId)
               OR @stakeholder = 1 AND id IN (SELECT survey_id FROM survey_stakeholders WHERE user_id = @userId)
            ORDER BY id
            """, new { admin = User.IsAdmin() ? 1 : 0, stakeholder = stakeholder ? 1 : 0, userId = User.UserId() });
        foreach (var (id, slug) in surveys)
        {
            var definition = await catalog.DefinitionAsync(id);
            var closed =
                (await c.QueryAsync<long>("SELECT number FROM rounds WHERE survey_id = @id AND status = 'closed' AND data_hash IS NOT NULL ORDER BY number",
                new { id })).ToList();
            var latest = (await c.QueryAsync<ReportRow>("SELECT * FROM reports WHERE survey_id = @id ORDER BY id", new { id }))
                .GroupBy(r => (r.Kind, r.RoundNumber, r.Language)).ToDictionary(g => g.Key, g => g.Last());
            var published = (await c.QueryAsync<(string Kind, long Round, string Language, string PublishedAt)>(
                "SELECT kind, round_number, language, published_at FROM report_publications WHERE survey_id = @id", new { id }))
                .ToDictionary(p => (p.Kind, (int)p.Round, p.Language), p => p.PublishedAt);
            var keys = closed.Select(n => ("round", (int)n)).Concat(closed.Count > 1 ? [("study", 0)] : []);
            var entries = new List<ReportsPageEntry>();
            foreach (var (kind, round) in keys)
                foreach (var language in definition.Languages)
                {
                    latest.TryGetValue((kind, round, language), out var row);
                    published.TryGetValue((kind, round, language), out var at);
                    if (stakeholder && (at is null || row?.Status != ReportStatus.Ready)) continue;
                    entries.Add(new ReportsPageEntry(kind, round, language, row?.Status, row?.RenderedAt, row?.PdfBytes, row?.Error, at,
                        ReportService.Url(slug, kind, round, language, "pdf"), ReportService.Url(slug, kind, round, language, "html")));
                }
            if (stakeholder && entries.Count == 0) continue;
            Surveys.Add(new ReportsPageSurvey(slug, definition.Title, !stakeholder, !stakeholder || published.Count > 0, entries));
        }
    }
}
