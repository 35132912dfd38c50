using Foresight.Core;
using System.Globalization;
using Dapper;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Rounds;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Live;

/// <summary>
/// The open round of one survey, in memory: every expert's current answers per topic, kept in step with the
/// store by answer events. A change marks its topic dirty; a topic's aggregate is recomputed, through the
/// statistics library, only when it is dirty and someone asks, so one answer costs one topic, not the round.
/// </summary>
public sealed class LiveRound
{
    readonly object _gate = new();
    readonly SurveyDefinition _survey;
    readonly ConsensusRules _rules;
    readonly Dictionary<string, RoundTopic> _topics;
    readonly List<string> _order;
    // Per topic, per expert: their current answers, one small object each (not one object per answer), so that
    // millions of answers stay cheap for the collector; a topic's arrays go to the statistics as they are (TopicTable).
    readonly Dictionary<string, Dictionary<long, Kept>> _answers = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _questionIndex = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _rankingIndex = new(StringComparer.Ordinal);
    // The previous round's answers per topic, as the statistics read them (made once, at the load).
    readonly Dictionary<string, TopicTable> _previous;
    readonly Dictionary<long, string> _pseudonyms;
    readonly Dictionary<long, HashSet<string>> _assigned;
    readonly Dictionary<long, HashSet<string>> _fieldsOf;
    readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    readonly Dictionary<string, (long Version, TopicResult Result)> _results = new(StringComparer.Ordinal);
    // Per expert: the topics they answered and those they finished, kept up to date so that progress costs
    // a pass over the experts, not over the answers.
    readonly Dictionary<long, HashSet<string>> _answeredBy = new();
    readonly Dictionary<long, HashSet<string>> _completeBy = new();
    long _submissions;
    long _version;

    public long SurveyId { get; }
    public int Number { get; }
    public RoundStatus Status { get; private set; }
    public string? Deadline { get; private set; }

    LiveRound(long surveyId, RoundRow round, SurveyDefinition survey, ConsensusRules rules, List<RoundTopic> topics,
        Dictionary<string, IReadOnlyList<AnswerRow>> previous, Dictionary<long, string> pseudonyms,
        Dictionary<long, HashSet<string>> assigned, Dictionary<long, HashSet<string>> fieldsOf)
    {
        SurveyId = surveyId; Number = round.Number; Status = round.Status; Deadline = round.Deadline;
        _survey = survey; _rules = rules;
        _previous = previous.ToDictionary(p => p.Key, p => TopicTable.FromRows(survey, p.Value),
            StringComparer.Ordinal); _pseudonyms = pseudonyms; _assigned = assigned; _fieldsOf = fieldsOf;
        _topics = topics.ToDictionary(t => t.Code, StringComparer.Ordinal);
        _order = topics.Select(t => t.Code).ToList();
        foreach (var t in _order) { _answers[t] = []; _versions[t] = 0; }
        for (int i = 0; i < survey.Questions.Count; i++) _questionIndex.TryAdd(survey.Questions[i].Id, i);
        for (int i = 0; i < survey.Rankings.Count; i++) _rankingIndex.TryAdd(survey.Rankings[i].Id, i);
    }

    /// <summary>
    /// One expert's answers to one topic: value and number per question of the survey (by position; null where not
    /// answered) and rank per ranking. Replaced on every change, never changed in place.
    /// </summary>
    sealed class Kept(string pseudonym, string?[] values, double[] numbers, double[]? ranks)
    {
        public readonly string Pseudonym = pseudonym;
        public readonly string?[] Values = values;
        public readonly double[] Numbers = numbers; // NaN where there is no number
        public readonly double[]? Ranks = ranks;    // NaN where there is no rank

        public bool HasAnswers
        {
            get
            {
                foreach (var v in Values) if (v is not null) return true;
                return false;
            }
        }
        public bool IsEmpty => !HasAnswers && (Ranks is null || Ranks.All(double.IsNaN));
    }

    Kept NewKept(string pseudonym, Kept? old, bool keepAnswers) => new(pseudonym,
        keepAnswers && old is not null ? (string?[])old.Values.Clone() : new string?[_survey.Questions.Count],
        keepAnswers && old is not null ? (double[])old.Numbers.Clone() : Enumerable.Repeat(double.NaN, _survey.Questions.Count).ToArray(),
        old?.Ranks is { } r ? (double[])r.Clone() : _survey.Rankings.Count > 0 ? Enumerable.Repeat(double.NaN, _survey.Rankings.Count).ToArray() : null);

    /// <summary>The expert's ranks as rows, as the rankings' statistics read them (answers go over as a TopicTable).</summary>
    IEnumerable<AnswerRow> RankingRows(string topic, Kept k)
    {
        if (k.Ranks is { } ranks)
            for (int i = 0; i < ranks.Length; i++)
                if (!double.IsNaN(ranks[i]))
                    yield return new AnswerRow(k.Pseudonym, topic, _survey.Rankings[i].Id, ((int)ranks[i]).ToString(CultureInfo.InvariantCulture), ranks[i]);
    }

    public SurveyDefinition Survey => _survey;
    public IReadOnlyList<string> TopicCodes => _order;
    public bool HasTopic(string code) => _topics.ContainsKey(code);

    public static async Task<LiveRound> LoadAsync(SqliteConnection c, RoundRow round, SurveyDefinition survey, ConsensusRules rules)
    {
        var topicRows = await RoundStore.TopicsAsync(c, round.Id);
        var topics = await RoundStore.WithPredecessorsAsync(c, round, topicRows);
        var previous = new Dictionary<string, IReadOnlyList<AnswerRow>>(StringComparer.Ordinal);
        if (round.Number > 1 && await RoundStore.RoundAsync(c, round.SurveyId, round.Number - 1) is { } before)
            foreach (var g in (await RoundStore.AnswersAsync(c, before.Id)).GroupBy(a => a.Topic))
                previous[g.Key] = g.Select(a => a.Row).ToList();
        var members = (await c.QueryAsync<(long Id, string Pseudonym)>("""
            SELECT m.id, m.pseudonym FROM round_members rm JOIN panel_members m ON m.id = rm.member_id WHERE rm.round_id = @Id
            """, new { round.Id })).ToDictionary(m => m.Id, m => m.Pseudonym);
        var assignments = await RoundProgress.AssignmentsAsync(c, round, topicRows);
        var fields = (await c.QueryAsync<(long MemberId, string Code)>("""
            SELECT pf.member_id, f.code FROM panel_fields pf JOIN fields f ON f.id = pf.field_id
            JOIN round_members rm ON rm.member_id = pf.member_id AND rm.round_id = @Id
            """, new { round.Id })).GroupBy(x => x.MemberId).ToDictionary(g => g.Key, g => g.Select(x => x.Code).ToHashSet());
        var live = new LiveRound(round.SurveyId, round, survey, rules, topics, previous, members,
            members.Keys.ToDictionary(m => m, m => assignments[m].ToHashSet()), fields);
        foreach (var a in await RoundStore.AnswersAsync(c, round.Id))
            live.Put(a.MemberId, a.Pseudonym, a.Topic, a.Question, a.Row);
        foreach (var (topic, byMember) in live._answers)
            foreach (var member in byMember.Keys) live.Track(member, topic);
        return live;
    }

    /// <summary>Updates the expert's answered and complete sets for one topic (call under the lock).</summary>
    void Track(long member, string topic)
    {
        var kept = _answers[topic].GetValueOrDefault(member);
        Dictionary<string, QuestionAnswer>? mine = null;
        if (kept is not null)
        {
            mine = new(StringComparer.Ordinal);
            for (int i = 0; i < kept.Values.Length; i++)
                if (kept.Values[i] is { } v)
                    mine[_survey.Questions[i].Id] = new QuestionAnswer(AnswerValue.FromStored(v, double.IsNaN(kept.Numbers[i]) ? null : kept.Numbers[i]), null);
        }
        if (!_answeredBy.TryGetValue(member, out var answered)) _answeredBy[member] = answered = new(StringComparer.Ordinal);
        if (!_completeBy.TryGetValue(member, out var complete)) _completeBy[member] = complete = new(StringComparer.Ordinal);
        if (mine is { Count: > 0 }) answered.Add(topic); else answered.Remove(topic);
        if (mine is { Count: > 0 } && TopicAnswers.IsComplete(_survey, Number, mine)) complete.Add(topic); else complete.Remove(topic);
    }

    // Short values (option codes, years) repeat in every save: one string each, not one per answer kept.
    readonly StringPool _strings = new();

    /// <summary>One stored row, while loading (before the round is shared, so filled in place).</summary>
    void Put(long member, string pseudonym, string topic, string question, AnswerRow row)
    {
        if (!_answers.TryGetValue(topic, out var byMember)) return;
        bool isQuestion = _questionIndex.TryGetValue(question, out var qi);
        int ri = -1;
        if (!isQuestion && !(_rankingIndex.TryGetValue(question, out ri) && row.Number is not null)) return; // neither kept nor computed
        _pseudonyms.TryAdd(member, pseudonym);
        if (!byMember.TryGetValue(member, out var k)) byMember[member] = k = NewKept(pseudonym, null, keepAnswers: false);
        if (isQuestion) { k.Values[qi] = _strings.Get(row.Value); k.Numbers[qi] = row.Number ?? double.NaN; }
        else k.Ranks![ri] = row.Number!.Value;
    }

    /// <summary>Replaces one expert's answers to one topic with their state after a save (idempotent).</summary>
    public void Apply(long member, string pseudonym, string topic, IReadOnlyDictionary<string, QuestionAnswer> answers)
    {
        lock (_gate)
        {
            if (!_answers.TryGetValue(topic, out var byMember)) return;
            _pseudonyms.TryAdd(member, pseudonym);
            // The save carries all the topic's answers; the member's ranks are kept.
            var next = NewKept(pseudonym, byMember.GetValueOrDefault(member), keepAnswers: false);
            foreach (var (q, a) in answers)
                if (_questionIndex.TryGetValue(q, out var i)) { next.Values[i] = _strings.Get(a.Value.Text); next.Numbers[i] = a.Value.Number ?? double.NaN; }
            if (next.IsEmpty) byMember.Remove(member); else byMember[member] = next;
            Track(member, topic);
            _versions[topic] = ++_version;
            _submissions++;
        }
    }

    /// <summary>One expert's ranks after a ranking save: topic → rank, null where the rank was taken away.</summary>
    public void ApplyRanking(long member, string pseudonym, string ranking, IReadOnlyDictionary<string, double?> ranks)
    {
        lock (_gate)
        {
            _pseudonyms.TryAdd(member, pseudonym);
            foreach (var (topic, rank) in ranks)
            {
                if (!_answers.TryGetValue(topic, out var byMember) || !_rankingIndex.TryGetValue(ranking, out var ri)) continue;
                var next = NewKept(pseudonym, byMember.GetValueOrDefault(member), keepAnswers: true);
                next.Ranks![ri] = rank ?? double.NaN;
                if (next.IsEmpty) byMember.Remove(member); else byMember[member] = next;
            }
        }
    }

    /// <summary>
    /// The whole round's consensus from the kept answers: topics whose answers did not change since they were last
    /// computed cost nothing, the others are computed on every core; then the rankings and the stop rule.
    /// </summary>
    /// <param name="computed">how many topics had to be computed (the others had not changed)</param>
    public RoundResult Consensus(out int computed)
    {
        int stale = 0;
        lock (_gate) foreach (var t in _order) if (!_results.TryGetValue(t, out var r) || r.Version != _versions[t]) stale++;
        computed = stale;
        var results = _order.AsParallel().AsOrdered().Select(Result).ToList();
        var keptOf = new Dictionary<string, List<Kept>>(StringComparer.Ordinal);
        if (_survey.Rankings.Any(r => r.AskedIn(Number)))
            lock (_gate) foreach (var t in _order) keptOf[t] = _answers[t].Values.ToList();
        var rankingRows = _order.ToDictionary(t => t,
            t => keptOf.TryGetValue(t, out var kept) ? kept.SelectMany(k => RankingRows(t, k)).ToList() : [], StringComparer.Ordinal);
        return RoundConsensus.Assemble(_survey, _rules, Number, _order.Select(t => _topics[t]).ToList(), results, t => rankingRows[t]);
    }

    /// <summary>A panel member added while the round is open.</summary>
    public void AddMember(long member, string pseudonym, IEnumerable<string> fields)
    {
        lock (_gate)
        {
            _pseudonyms[member] = pseudonym;
            var fieldSet = fields.ToHashSet();
            _fieldsOf[member] = fieldSet;
            _assigned[member] = _order.Where(t => fieldSet.Contains(_topics[t].Field)).ToHashSet();
            foreach (var t in _order) if (_answers[t].ContainsKey(member)) Track(member, t);
            _version++;
        }
    }

    public void SetStatus(RoundStatus status, string? deadline)
    {
        lock (_gate) { Status = status; Deadline = deadline; }
    }

    public long TopicVersion(string topic) { lock (_gate) return _versions.GetValueOrDefault(topic); }

    public long Version { get { lock (_gate) return _version; } }

    /// <summary>The topic's result now, computed by the statistics library when its answers changed since the last time.</summary>
    public TopicResult Result(string topic)
    {
        List<Kept> kept;
        long version;
        lock (_gate)
        {
            version = _versions[topic];
            if (_results.TryGetValue(topic, out var cached) && cached.Version == version) return cached.Result;
            kept = _answers[topic].Values.ToList();
        }
        // Kept answers are replaced, never changed, once shared: the statistics read their arrays as they are, outside
        // the lock, so that topics computed on several cores do not wait for each other (no row object per answer).
        var members = new List<string>(kept.Count);
        var values = new List<string?[]>(kept.Count);
        var numbers = new List<double[]>(kept.Count);
        foreach (var k in kept)
            if (k.HasAnswers) { members.Add(k.Pseudonym); values.Add(k.Values); numbers.Add(k.Numbers); }
        var t = _topics[topic];
        TopicTable? previous = t.PreviousCode is not null && Number > 1 ? _previous.GetValueOrDefault(t.PreviousCode) ?? NoAnswers : null;
        var result = RoundConsensus.ComputeTopic(_survey, _rules, Number, t, new TopicTable(members, values, numbers), previous);
        lock (_gate)
            if (!_results.TryGetValue(topic, out var newer) || newer.Version < version) _results[topic] = (version, result);
        return result;
    }

    static readonly TopicTable NoAnswers = new([], [], []);

    /// <summary>Topics whose version is newer than the given ones (a stream's last sent versions).</summary>
    public List<(string Topic, long Version)> ChangedSince(IReadOnlyDictionary<string, long> sent)
    {
        lock (_gate)
            return _order.Where(t => _versions[t] > sent.GetValueOrDefault(t)).Select(t => (t, _versions[t])).ToList();
    }

    /// <summary>Whether the expert has answered the topic (for the Real-Time Delphi rule).</summary>
    public bool Answered(long member, string topic)
    {
        lock (_gate) return _answers.TryGetValue(topic, out var m) && m.TryGetValue(member, out var k) && k.HasAnswers;
    }

    public IReadOnlyList<string> AnsweredTopics(long member)
    {
        lock (_gate) return _order.Where(t => _answers[t].TryGetValue(member, out var k) && k.HasAnswers).ToList();
    }

    public LiveProgress Progress()
    {
        lock (_gate)
        {
            int answered = 0, responded = 0, finished = 0;
            var fields = _order.Select(t => _topics[t].Field).Distinct().ToList();
            var topicsOfField = fields.ToDictionary(f => f, f => _order.Count(t => _topics[t].Field == f));
            var experts = fields.ToDictionary(f => f, _ => 0);
            var fieldResponded = fields.ToDictionary(f => f, _ => 0);
            var fieldFinished = fields.ToDictionary(f => f, _ => 0);
            var pairs = fields.ToDictionary(f => f, _ => 0);
            foreach (var (member, assigned) in _assigned)
            {
                var done = _answeredBy.GetValueOrDefault(member);
                var complete = _completeBy.GetValueOrDefault(member);
                int n = done?.Count ?? 0;
                answered += n;
                if (n > 0) responded++;
                if (assigned.Count > 0 && complete is not null && assigned.All(complete.Contains)) finished++;
                foreach (var field in _fieldsOf.GetValueOrDefault(member) ?? [])
                {
                    if (!experts.ContainsKey(field)) continue;
                    experts[field]++;
                    int inField = done?.Count(t => _topics[t].Field == field) ?? 0;
                    pairs[field] += inField;
                    if (inField > 0) fieldResponded[field]++;
                    if (complete is not null && complete.Count(t => _topics[t].Field == field) == topicsOfField[field]) fieldFinished[field]++;
                }
            }
            return new LiveProgress(answered, _submissions, _assigned.Count, responded, finished,
                fields.Select(f => new FieldLive(f, experts[f], fieldResponded[f], fieldFinished[f], pairs[f], experts[f] * topicsOfField[f])).ToList());
        }
    }

    public LiveRoundInfo Info() { lock (_gate) return new LiveRoundInfo(Number, Status, Deadline); }
}
