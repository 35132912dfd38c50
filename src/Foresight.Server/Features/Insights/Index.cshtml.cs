using Foresight.Core;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Features.Topics;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Insights;

/// <summary>
/// The machine layer of a survey in the console: import literature, search it, run an analysis, review the proposed
/// topics with their evidence (accept, edit, merge, split, reject), read the decision log and the evaluation, and
/// between rounds choose the argument clusters the next round's feedback shows. Every form calls the service the API calls.
/// </summary>
public sealed class IndexPage : ConsolePage
{
    public InsightsEvaluationView Evaluation { get; private set; } = null!;
    public List<LiteratureImportView> Imports { get; private set; } = [];
    public LiteratureImportView? Imported { get; private set; }
    public List<AnalysisView> AnalysesRun { get; private set; } = [];
    public List<ProposalView> Open { get; private set; } = [];
    public List<ProposalView> Decided { get; private set; } = [];
    public List<DecisionView> Log { get; private set; } = [];
    public IReadOnlyList<FieldView> Fields { get; private set; } = [];
    public RecordPage? Found { get; private set; }
    public RoundRow? Latest { get; private set; }
    public bool TopicsEditable => Latest is null || !Latest.IsOpen;
    /// <summary>The closed round whose arguments can be chosen for the next round (none while a round is open).</summary>
    public int? ArgumentsRound => Latest is { IsOpen: false } ? Latest.Number : null;
    public List<TopicArguments> RoundArguments { get; private set; } = [];

    [BindProperty(SupportsGet = true)] public string? Q { get; set; }
    /// <summary>Grouping every topic's rationales takes a while at national scale: done when asked for.</summary>
    [BindProperty(SupportsGet = true, Name = "arguments")] public bool ShowArguments { get; set; }

    /// <summary>With the machine layer switched off the page does not exist, like its API.</summary>
    public override async Task OnPageHandlerExecutionAsync(Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutingContext context,
        Microsoft.AspNetCore.Mvc.Filters.PageHandlerExecutionDelegate next)
    {
        if (!Service<IOptions<ForesightOptions>>().Value.Insights.Enabled) { context.Result = NotFound(); return; }
        await base.OnPageHandlerExecutionAsync(context, next);
    }

    protected override async Task LoadAsync()
    {
        await using var c = await Db.OpenAsync();
        Evaluation = await InsightsEvaluation.ComputeAsync(c, Survey.Id);
        Imports = await Literature.ImportsAsync(c, Survey.Id);
        AnalysesRun = await Analyses.ListAsync(c, Survey.Id);
        var proposals = await Review.ProposalsAsync(c, Survey.Id);
        Open = proposals.Where(p => p.Status == ProposalStatus.Open).ToList();
        Decided = proposals.Where(p => p.Status != ProposalStatus.Open).ToList();
        Log = await Review.DecisionsAsync(c, Survey.Id);
        Fields = await SurveyStore.StructureAsync(c, Survey.Id);
        Latest = await RoundStore.LatestAsync(c, Survey.Id);
        if (!string.IsNullOrWhiteSpace(Q)) Found = await Literature.SearchAsync(c, Survey.Id, new RecordFilter(Q, null, null, null), 0, 20);
        if (ShowArguments && ArgumentsRound is { } round && (await Service<ArgumentsService>().ListAsync(Survey, round, null)).Value is { } grouped)
            RoundArguments = grouped;
    }

    /// <summary>Imports currently being written in the background (their progress is shown and polled by js/insights-import.js).</summary>
    public IEnumerable<LiteratureImportView> Running => Imports.Where(i => i.Status == ImportStatus.Importing);

    public async Task<IActionResult> OnPostImportAsync(string? format)
    {
        var outcome = await ImportAsync(string.IsNullOrEmpty(format) ? null : format);
        // A large file goes on in the background: after a redirect (a reload does not post it again) the page shows its progress.
        if (outcome.Value is { InBackground: true, View: var started })
        {
            Done = Ui.T("done.ins.import.started", started.FileName, started.Total.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            return Redirect(Request.Path + Request.QueryString + "#import");
        }
        return await ActAsync(null, () => Task.FromResult(outcome), "done.ins.imported", s => Imported = s.View);
    }

    /// <summary>The uploaded file through the same checks as the API's import (the format first, then the upload).</summary>
    async Task<Outcome<LiteratureImports.Started>> ImportAsync(string? format)
    {
        var declared = LiteratureService.DeclaredFormat(format);
        if (declared.Refusal is { } wrong) return wrong;
        var (stream, name, problem) = await Uploads.OpenAsync(Request, "records");
        if (stream is null) return problem!;
        return await Service<LiteratureService>().ImportAsync(Survey, stream, name, declared.Value, User);
    }

    public async Task<IActionResult> OnPostAnalyseAsync(string? query, string? method, int? k, long? seed)
    {
        var body = new AnalysisRequest(string.IsNullOrWhiteSpace(query) ? null : query, null, null, null, method, k, null, null, seed);
        return await ActAsync(body, () => Service<Analyses>().RequestAsync(Survey, body, User), "done.ins.analysis");
    }

    static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    public async Task<IActionResult> OnPostAcceptAsync(long id, string? code, string? field)
    {
        var body = new AcceptProposal(code?.Trim() ?? "", Blank(field), null);
        return await ActAsync(body, () => Service<ReviewService>().AcceptAsync(Survey, id, body, User), "done.ins.accepted");
    }

    public async Task<IActionResult> OnPostEditAsync(long id, string? code, string? field)
    {
        var body = new EditProposal(code?.Trim() ?? "", Blank(field), Text("title") ?? new TextInput(null, null), Text("background"), null);
        return await ActAsync(body, () => Service<ReviewService>().EditAsync(Survey, id, body, User), "done.ins.edited");
    }

    public async Task<IActionResult> OnPostMergeAsync(string? code, string? field)
    {
        var ids = Request.Form["proposals"].Select(v => long.TryParse(v, out var n) ? n : 0).Where(n => n > 0).ToList();
        var body = new MergeProposals(ids, code?.Trim() ?? "", Blank(field), Text("title") ?? new TextInput(null, null), Text("background"));
        return await ActAsync(body, () => Service<ReviewService>().MergeAsync(Survey, body, User), "done.ins.merged");
    }

    public async Task<IActionResult> OnPostSplitAsync(long id)
    {
        var parts = new List<SplitPart>();
        for (int i = 0; i < 4; i++)
        {
            var partCode = Blank(Request.Form[$"part{i}.code"].FirstOrDefault());
            var title = Text($"part{i}.title");
            if (partCode is null && title is null) continue;
            parts.Add(new SplitPart(partCode ?? "", title ?? new TextInput(null, null), null, Blank(Request.Form[$"part{i}.field"].FirstOrDefault()), null));
        }
        var body = new SplitProposal(parts);
        return await ActAsync(body, () => Service<ReviewService>().SplitAsync(Survey, id, body, User), "done.ins.split");
    }

    public async Task<IActionResult> OnPostRejectAsync(long id, string? note)
    {
        var body = new RejectProposal(Blank(note));
        return await ActAsync(body, () => Service<ReviewService>().RejectAsync(Survey, id, body, User), "done.ins.rejected");
    }

    public async Task<IActionResult> OnPostArgumentsAsync(int round, string topic)
    {
        var body = new ChooseArguments(Request.Form["clusters"].Select(v => int.TryParse(v, out var n) ? n : -1).Where(n => n >= 0).ToList());
        return await ActAsync(body, () => Service<ArgumentsService>().ChooseAsync(Survey, round, topic, body, User), "done.ins.arguments");
    }
}
