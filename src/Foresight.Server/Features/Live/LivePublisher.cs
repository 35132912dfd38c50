using Foresight.Core;
using System.Collections.Concurrent;
using System.Security.Claims;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Foresight.Server.Features.Live;

public sealed class LiveOptions
{
    public const string Section = "Foresight:Live";
    /// <summary>At most this many updates per second to one stream; the latest state always follows a burst.</summary>
    public double MaxUpdatesPerSecond { get; set; } = 8;
}

/// <summary>
/// Pushes live state to hub clients. Streams: coord:{survey} (coordinators: progress and every topic),
/// stake:{survey} (stakeholders: what the survey publishes), exp:{survey} (experts: round events) and
/// rt:{survey}:{topic} (Real-Time Delphi experts who answered the topic: its aggregate once k experts have).
/// Every message carries its stream and a sequence number; a client that sees a gap asks for a snapshot.
/// Changes are coalesced per stream: an idle stream sends at once, a busy one at most MaxUpdatesPerSecond.
/// </summary>
public sealed class LivePublisher(IHubContext<LiveHub, ILiveClient> hub, Db db, SurveyCatalog catalog, IOptions<LiveOptions> options,
    ILogger<LivePublisher> log)
    : BackgroundService, IOpenRoundConsensus,
      IChangeHandler<AnswerSaved>, IChangeHandler<RankingSaved>, IChangeHandler<RoundOpened>, IChangeHandler<RoundClosed>,
      IChangeHandler<DeadlineChanged>, IChangeHandler<PanelChanged>, IFollowsEveryNode
{
    public Task HandleAsync(AnswerSaved change)
    {
        AnswerSaved(change.SurveyId, change.MemberId, change.Pseudonym, change.Topic, change.Answers);
        return Task.CompletedTask;
    }

    public Task HandleAsync(RankingSaved change)
    {
        RankingSaved(change.SurveyId, change.MemberId, change.Pseudonym, change.Ranking, change.Ranks);
        return Task.CompletedTask;
    }

    public Task HandleAsync(RoundOpened change) => RoundOpenedAsync(change.SurveyId);

    public Task HandleAsync(RoundClosed change) => RoundClosedAsync(change.SurveyId);

    public Task HandleAsync(DeadlineChanged change) => DeadlineChangedAsync(change.SurveyId);

    /// <summary>The panel changed: who is invited, and which fields they answer, are read again.</summary>
    public Task HandleAsync(PanelChanged change)
    {
        Invalidate(change.SurveyId);
        return Task.CompletedTask;
    }

    sealed class Slot
    {
        public readonly object Gate = new();
        public Task<LiveRound?> Loading = null!;
        public LiveRound? Round;
        public readonly List<Action<LiveRound>> Queued = [];
    }

    sealed class Stream(string name, long surveyId, string kind, string? topic)
    {
        public string Name { get; } = name;
        public long SurveyId { get; } = surveyId;
        public string Kind { get; } = kind;
        public string? Topic { get; } = topic;
        public readonly SemaphoreSlim Gate = new(1, 1);
        public long Seq;
        public long SentProgress = -1;
        public Dictionary<string, long> Sent = new(StringComparer.Ordinal);
        public volatile bool Pending;
        // Pacing of sends is real elapsed time (a monotonic timestamp), not the survey clock: a test's frozen clock must not stop updates.
        public long LastSend = long.MinValue;
    }

    readonly ConcurrentDictionary<long, Slot> _slots = new();
    readonly ConcurrentDictionary<string, Stream> _streams = new(StringComparer.Ordinal);
    readonly ConcurrentDictionary<long, ConcurrentDictionary<string, long>> _memberConnections = new();
    readonly ConcurrentDictionary<string, long> _connectionMember = new();
    TimeSpan Interval => TimeSpan.FromSeconds(1 / Math.Max(0.1, options.Value.MaxUpdatesPerSecond));

    public static string Coord(long s) => $"coord:{s}";
    public static string Stake(long s) => $"stake:{s}";
    public static string Exp(long s) => $"exp:{s}";
    public static string Rt(long s, string topic) => $"rt:{s}:{topic}";

    Stream StreamFor(string name, long surveyId, string kind, string? topic = null) =>
        _streams.GetOrAdd(name, n => new Stream(n, surveyId, kind, topic));

    /// <summary>The survey's open round in memory, loaded on first use; null when no round is open.</summary>
    Task<LiveRound?> RoundAsync(long surveyId)
    {
        var slot = _slots.GetOrAdd(surveyId, id =>
        {
            var s = new Slot();
            s.Loading = LoadAsync(id, s);
            return s;
        });
        return slot.Loading;
    }

    async Task<LiveRound?> LoadAsync(long surveyId, Slot slot)
    {
        await Task.Yield();
        await using var c = await db.OpenAsync();
        var round = await RoundStore.OpenRoundAsync(c, surveyId);
        LiveRound? live = null;
        if (round is not null)
            live = await LiveRound.LoadAsync(c, round, await catalog.DefinitionAsync(surveyId), await catalog.RulesAsync(surveyId, round.RulesVersion));
        lock (slot.Gate)
        {
            // Events that arrived while loading replace an expert's state with a later one: applying them again is safe.
            if (live is not null) foreach (var apply in slot.Queued) apply(live);
            slot.Queued.Clear();
            slot.Round = live;
        }
        foreach (var s in _streams.Values.Where(s => s.SurveyId == surveyId)) { s.Sent.Clear(); s.SentProgress = -1; s.Pending = true; }
        return live;
    }

    /// <summary>
    /// Forgets the survey's round state (panel or round changes) and loads it again: an open round is always kept,
    /// so that its consensus is the already-computed topics rather than a pass over every stored answer.
    /// </summary>
    public void Invalidate(long surveyId)
    {
        _slots.TryRemove(surveyId, out _);
        _ = RoundAsync(surveyId);
    }

    /// <summary>
    /// The consensus of the survey's open round from its kept state; null when round <paramref name="number"/>
    /// is not the open round held here (the caller computes it from the store).
    /// </summary>
    public async Task<RoundResult?> ConsensusAsync(long surveyId, int number)
    {
        LiveRound? live;
        try { live = await RoundAsync(surveyId); }
        catch (Exception e)
        {
            log.LogWarning(e, "The open round of survey {Survey} could not be loaded; its consensus is computed from the store", surveyId);
            _slots.TryRemove(surveyId, out _);
            return null;
        }
        if (live is null || live.Status != RoundStatus.Open || live.Number != number) return null;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var paused = GC.GetTotalPauseDuration();
        var result = live.Consensus(out int computed);
        log.LogInformation(
            "Consensus of survey {Survey} round {Round} from the kept state: {Computed} of {Topics} topics computed in {Ms:0} ms (GC pauses {Gc:0} ms)",
            surveyId, number, computed, result.Topics.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            (GC.GetTotalPauseDuration() - paused).TotalMilliseconds);
        return result;
    }

    // ---------------------------------------------------------------- events from the endpoints

    /// <summary>An expert's answers to a topic after a save (already committed).</summary>
    void AnswerSaved(long surveyId, long memberId, string pseudonym, string topic, IReadOnlyDictionary<string, QuestionAnswer> answers)
    {
        var round = ApplyToKept(surveyId, r => { if (r.HasTopic(topic)) r.Apply(memberId, pseudonym, topic, answers); });
        if (round is null) return;
        MarkPending(surveyId, topic);
        if (round.Survey.Live.RealTime && answers.Count > 0) _ = JoinTopicAsync(surveyId, memberId, topic, round);
    }

    /// <summary>An expert's ranks after a ranking save (already committed): topic → rank, null where taken away.</summary>
    void RankingSaved(long surveyId, long memberId, string pseudonym, string ranking, IReadOnlyDictionary<string, double?> ranks) =>
        ApplyToKept(surveyId, r => r.ApplyRanking(memberId, pseudonym, ranking, ranks));

    /// <summary>
    /// Applies a committed change to the kept round: now when it is loaded, after loading when it is being loaded
    /// (changes replace an expert's state with a later one, so applying one the load already read is safe).
    /// Returns the round when the change was applied now.
    /// </summary>
    LiveRound? ApplyToKept(long surveyId, Action<LiveRound> apply)
    {
        if (!_slots.TryGetValue(surveyId, out var slot)) return null; // nothing kept: the store is the truth
        LiveRound? round;
        lock (slot.Gate)
        {
            round = slot.Round;
            if (round is null) { if (!slot.Loading.IsCompleted) slot.Queued.Add(apply); return null; }
        }
        try { apply(round); }
        catch (Exception e)
        {
            // The kept round no longer matches what was committed: it is read again from the store, not left to drift.
            log.LogError(e, "A change could not be applied to the kept round of survey {Survey}; it is read again from the database", surveyId);
            Invalidate(surveyId);
            return null;
        }
        return round;
    }

    void MarkPending(long surveyId, string topic)
    {
        foreach (var name in new[] { Coord(surveyId), Stake(surveyId), Rt(surveyId, topic) })
            if (_streams.TryGetValue(name, out var s)) s.Pending = true;
    }

    public async Task RoundOpenedAsync(long surveyId) => await RoundEventAsync(surveyId, "opened", reload: true);

    public async Task DeadlineChangedAsync(long surveyId) => await RoundEventAsync(surveyId, "deadline_changed", reload: false);

    public async Task RoundClosedAsync(long surveyId)
    {
        // The last state of the round goes out before the round is announced closed.
        foreach (var s in _streams.Values.Where(s => s.SurveyId == surveyId && s.Pending)) await FlushAsync(s);
        await RoundEventAsync(surveyId, "closed", reload: true);
    }

    async Task RoundEventAsync(long surveyId, string name, bool reload)
    {
        if (reload) Invalidate(surveyId);
        await using var c = await db.OpenAsync();
        var round = await RoundStore.LatestAsync(c, surveyId);
        if (round is null) return;
        // A new deadline changes no answer: the kept round takes it in place instead of being read again.
        if (!reload && _slots.TryGetValue(surveyId, out var slot) && slot.Round is { } kept && kept.Number == round.Number)
            kept.SetStatus(round.Status, round.Deadline);
        var info = new LiveRoundInfo(round.Number, round.Status, round.Deadline);
        foreach (var s in _streams.Values.Where(s => s.SurveyId == surveyId && s.Kind is "coord" or "stake" or "exp"))
        {
            await s.Gate.WaitAsync();
            try { await hub.Clients.Group(s.Name).Round(new LiveRoundEvent(s.Name, ++s.Seq, name, info)); }
            finally { s.Gate.Release(); }
        }
    }

    /// <summary>A report of a round is ready (issue 5): coordinators and stakeholders are told where it is.</summary>
    /// <summary>A report's PDF is ready: coordinators always hear of it, stakeholders only of a published report.</summary>
    public async Task ReportReadyAsync(long surveyId, int round, string language, string url, bool published)
    {
        foreach (var s in _streams.Values.Where(s => s.SurveyId == surveyId && (s.Kind == "coord" || s.Kind == "stake" && published)))
        {
            await s.Gate.WaitAsync();
            try { await hub.Clients.Group(s.Name).Report(new LiveReportReady(s.Name, ++s.Seq, round, language, url)); }
            finally { s.Gate.Release(); }
        }
    }

    // ---------------------------------------------------------------- clients joining

    /// <summary>Adds the caller to the streams their role allows for the survey, and returns the snapshot.</summary>
    /// <exception cref="HubException">the survey does not exist or the caller may not watch it</exception>
    public async Task<LiveSnapshot> JoinAsync(string connectionId, ClaimsPrincipal user, string surveyKey, HttpContext? http)
    {
        await using var c = await db.OpenAsync();
        var survey = long.TryParse(surveyKey, out var id)
            ? await c.QuerySingleOrDefaultAsync<(long Id, string Slug)>("SELECT id, slug FROM surveys WHERE id = @id", new { id })
            : await c.QuerySingleOrDefaultAsync<(long Id, string Slug)>("SELECT id, slug FROM surveys WHERE slug = @surveyKey", new { surveyKey });
        if (survey.Id == 0) throw new HubException($"There is no survey '{surveyKey}'.");
        var definition = await catalog.DefinitionAsync(survey.Id);
        string role;
        if (http is not null && await SurveyAccessFilter.CoordinatesAsync(http, user, survey.Id)) role = Roles.Coordinator;
        else if (user.ExpertSurveyId() == survey.Id) role = Roles.Expert;
        else if (user.IsInRole(Roles.Stakeholder) && definition.Live.Stakeholders != StakeholderView.None
                 && await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM survey_stakeholders WHERE survey_id = @s AND user_id = @u",
                        new { s = survey.Id, u = user.UserId() }) > 0)
            role = Roles.Stakeholder;
        else throw new HubException($"You may not watch survey '{survey.Slug}'.");

        var live = await RoundAsync(survey.Id);
        var streams = new Dictionary<string, long>(StringComparer.Ordinal);
        var topics = new List<LiveTopic>();
        LiveProgress? progress = null;
        int k = definition.Live.MinAnswers;
        LiveRoundInfo? info = live?.Info();
        if (info is null)
        {
            var latest = await RoundStore.LatestAsync(c, survey.Id);
            if (latest is not null) info = new LiveRoundInfo(latest.Number, latest.Status, latest.Deadline);
        }

        if (role == Roles.Coordinator)
        {
            var s = StreamFor(Coord(survey.Id), survey.Id, "coord");
            await hub.Groups.AddToGroupAsync(connectionId, s.Name);
            await s.Gate.WaitAsync();
            try
            {
                streams[s.Name] = s.Seq;
                if (live is not null)
                {
                    progress = live.Progress();
                    topics.AddRange(live.TopicCodes.Select(t => LiveTopic.From(live.Result(t))));
                }
            }
            finally { s.Gate.Release(); }
        }
        else if (role == Roles.Stakeholder)
        {
            var s = StreamFor(Stake(survey.Id), survey.Id, "stake");
            await hub.Groups.AddToGroupAsync(connectionId, s.Name);
            await s.Gate.WaitAsync();
            try
            {
                streams[s.Name] = s.Seq;
                if (live is not null)
                {
                    progress = live.Progress();
                    if (definition.Live.Stakeholders == StakeholderView.Consensus)
                        topics.AddRange(live.TopicCodes.Select(live.Result).Where(r => r.Respondents >= k).Select(LiveTopic.From));
                }
            }
            finally { s.Gate.Release(); }
        }
        else
        {
            var member = user.MemberId()!.Value;
            _memberConnections.GetOrAdd(member, _ => new())[connectionId] = survey.Id;
            _connectionMember[connectionId] = member;
            var s = StreamFor(Exp(survey.Id), survey.Id, "exp");
            await hub.Groups.AddToGroupAsync(connectionId, s.Name);
            await s.Gate.WaitAsync();
            try { streams[s.Name] = s.Seq; }
            finally { s.Gate.Release(); }
            if (live is not null && definition.Live.RealTime)
                foreach (var topic in live.AnsweredTopics(member))
                {
                    var (name, seq, view) = await TopicStreamAsync(survey.Id, topic, live, connectionId, k);
                    streams[name] = seq;
                    if (view is not null) topics.Add(view);
                }
        }
        return new LiveSnapshot(survey.Slug, role, info, streams, progress, topics, k);
    }

    /// <summary>Puts a connection in a topic's Real-Time stream; returns the stream's seq and the topic's view when k experts answered.</summary>
    async Task<(string Name, long Seq, LiveTopic? View)> TopicStreamAsync(long surveyId, string topic, LiveRound live, string connectionId, int k)
    {
        var s = StreamFor(Rt(surveyId, topic), surveyId, "rt", topic);
        await hub.Groups.AddToGroupAsync(connectionId, s.Name);
        await s.Gate.WaitAsync();
        try
        {
            var result = live.Result(topic);
            return (s.Name, s.Seq, result.Respondents >= k ? LiveTopic.From(result) : null);
        }
        finally { s.Gate.Release(); }
    }

    /// <summary>After an expert's first answer to a topic, their connections join its stream and get its view.</summary>
    async Task JoinTopicAsync(long surveyId, long member, string topic, LiveRound live)
    {
        try
        {
            if (!_memberConnections.TryGetValue(member, out var connections)) return;
            int k = live.Survey.Live.MinAnswers;
            foreach (var (connectionId, sid) in connections)
            {
                if (sid != surveyId) continue;
                var (name, seq, view) = await TopicStreamAsync(surveyId, topic, live, connectionId, k);
                await hub.Clients.Client(connectionId).Snapshot(new LiveSnapshot(live.Survey.Id, Roles.Expert, live.Info(),
                    new Dictionary<string, long> { [name] = seq }, null, view is null ? [] : [view], k));
            }
        }
        catch (Exception e)
        {
            log.LogWarning(e, "Could not add expert {Member} to the live stream of topic {Topic}", member, topic);
        }
    }

    public void Disconnected(string connectionId)
    {
        if (_connectionMember.TryRemove(connectionId, out var member) && _memberConnections.TryGetValue(member, out var set))
            set.TryRemove(connectionId, out _);
    }

    // ---------------------------------------------------------------- the coalescing loop

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Open rounds are kept from the start, not from the first question asked of them.
        try
        {
            await using (var c = await db.OpenAsync())
                foreach (var surveyId in await c.QueryAsync<long>("SELECT DISTINCT survey_id FROM rounds WHERE status = 'open'"))
                    _ = RoundAsync(surveyId);
        }
        catch (Exception e) { log.LogWarning(e, "The open rounds could not be loaded at start; they load on first use"); }
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var s in _streams.Values)
            {
                if (!s.Pending || (s.LastSend != long.MinValue && System.Diagnostics.Stopwatch.GetElapsedTime(s.LastSend) < Interval)) continue;
                try { await FlushAsync(s); }
                catch (Exception e) { log.LogWarning(e, "Live update of {Stream} failed", s.Name); }
            }
        }
    }

    /// <summary>Sends the stream what changed since its last message: the latest state of each changed topic, and the progress.</summary>
    async Task FlushAsync(Stream s)
    {
        if (!_slots.TryGetValue(s.SurveyId, out var slot) || !slot.Loading.IsCompleted) return;
        var live = await slot.Loading;
        await s.Gate.WaitAsync();
        try
        {
            s.Pending = false;
            if (live is null) return;
            var definition = live.Survey;
            int k = definition.Live.MinAnswers;
            var changed = live.ChangedSince(s.Sent);
            if (s.Kind == "rt") changed = changed.Where(c => c.Topic == s.Topic).ToList();
            if (s.Kind == "exp") changed = [];
            var topics = new List<LiveTopic>();
            foreach (var (topic, version) in changed)
            {
                var result = live.Result(topic);
                s.Sent[topic] = version;
                bool visible = s.Kind switch
                {
                    "coord" => true,
                    "stake" => definition.Live.Stakeholders == StakeholderView.Consensus && result.Respondents >= k,
                    "rt" => result.Respondents >= k,
                    _ => false,
                };
                if (visible) topics.Add(LiveTopic.From(result));
            }
            LiveProgress? progress = null;
            long roundVersion = live.Version;
            if (s.Kind is "coord" or "stake" && roundVersion != s.SentProgress)
            {
                progress = live.Progress();
                s.SentProgress = roundVersion;
            }
            if (topics.Count == 0 && progress is null) return;
            s.LastSend = System.Diagnostics.Stopwatch.GetTimestamp();
            await hub.Clients.Group(s.Name).Update(new LiveUpdate(s.Name, ++s.Seq, live.Number, progress, topics));
        }
        finally { s.Gate.Release(); }
    }
}
