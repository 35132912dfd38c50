using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Foresight.Core.Surveys;

public sealed record SurveyParseResult(SurveyDefinition? Survey, IReadOnlyList<SurveyFileError> Errors)
{
    public bool Ok => Survey is not null && Errors.Count == 0;
}

public sealed record RulesParseResult(ConsensusRules? Rules, IReadOnlyList<SurveyFileError> Errors)
{
    public bool Ok => Rules is not null && Errors.Count == 0;
}

/// <summary>
/// Reads a survey file (format foresight/survey-v1, documented in docs/survey-format.md).
/// All problems are reported at once, each with its line, column and a sentence saying what is wrong;
/// a file with any problem yields no survey.
/// </summary>
public static partial class SurveyFile
{
    public const string Format = "foresight/survey-v1";

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,63}$")] private static partial Regex SurveyIdPattern();
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")] private static partial Regex CodePattern();
    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")] private static partial Regex QuestionIdPattern();
    [GeneratedRegex("^[A-Za-z0-9_+-]{1,32}$")] private static partial Regex OptionCodePattern();

    public static SurveyParseResult Parse(string text, string fileName = "survey.yaml")
    {
        var errors = new YamlErrors(fileName);
        var root = LoadRoot(text, errors);
        if (root is null) return new(null, errors.List);
        var survey = new Parser(errors).Survey(root);
        return new(errors.List.Count == 0 ? survey : null, errors.List);
    }

    /// <summary>Reads a consensus-rules document (the body of a survey's 'consensus' section) for an existing survey.</summary>
    public static RulesParseResult ParseRules(string text, SurveyDefinition survey, string fileName = "rules.yaml")
    {
        var errors = new YamlErrors(fileName);
        var root = LoadRoot(text, errors);
        if (root is null) return new(null, errors.List);
        var rules = new Parser(errors) { Questions = survey.Questions.ToDictionary(q => q.Id) }.Rules(root);
        return new(errors.List.Count == 0 ? rules : null, errors.List);
    }

    /// <summary>Deeper than any survey file needs (about 6 levels), far below what would exhaust the stack.</summary>
    public const int MaxDepth = 64;

    static YamlNode? LoadRoot(string text, YamlErrors errors)
    {
        // YamlStream builds its tree recursively: a file of nested brackets would overflow the stack and end the process.
        if (TooDeep(text) is { } deep)
        {
            errors.Add(deep, $"the file is not a survey: lists and mappings are nested more than {MaxDepth} levels deep here");
            return null;
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException) when (FirstTabIndent(text) is { } line)
        {
            // YamlDotNet reports tab indentation at 1:1; say where the tab is.
            errors.Add(new Mark(0, line, 1), "the file is not valid YAML: this line is indented with a tab; YAML indents with spaces");
            return null;
        }
        catch (YamlException e)
        {
            errors.Add(e.Start, "the file is not valid YAML: " + YamlMessage(e));
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet gives up without a position on some unclosed flow collections; find where it stopped.
            errors.Add(LastGoodMark(text), "the file is not valid YAML: a '{', '[' or quote opened here is not closed");
            return null;
        }
        if (stream.Documents.Count == 0) { errors.Add(Mark.Empty, "the file is empty"); return null; }
        if (stream.Documents.Count > 1) { errors.Add(stream.Documents[1].RootNode,
            "the file holds more than one YAML document; put one survey in each file"); return null; }
        return stream.Documents[0].RootNode;
    }

    /// <summary>Where the nesting first goes deeper than <see cref="MaxDepth"/>, reading events (no recursion); null if it never does.</summary>
    static Mark? TooDeep(string text)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(text));
        int depth = 0;
        try
        {
            while (parser.MoveNext())
            {
                if (parser.Current is YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart)
                {
                    if (++depth > MaxDepth) return parser.Current.Start;
                }
                else if (parser.Current is YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd) depth--;
            }
        }
        // Syntax errors are reported by the load that follows, with its own messages.
        catch (Exception e) when (e is YamlException or InvalidOperationException) { }
        return null;
    }

    static int? FirstTabIndent(string text)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            if (lines[i].AsSpan(0, indent).Contains('\t')) return i + 1;
        }
        return null;
    }

    static Mark LastGoodMark(string text)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(text));
        var last = Mark.Empty;
        try
        {
            while (parser.MoveNext())
                if (parser.Current is YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart) last = parser.Current.Start;
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException) { }
        return last;
    }

    static string YamlMessage(YamlException e)
    {
        var message = e.InnerException?.Message ?? e.Message;
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 40) - (Line: ...): "; the position is reported separately.
        var colon = message.LastIndexOf("): ", StringComparison.Ordinal);
        // Its messages also have doubled spaces and a closing period before the caller's own ("..").
        return Regex.Replace(colon >= 0 ? message[(colon + 3)..] : message, @"\s+", " ").Trim().TrimEnd('.');
    }

    sealed class Parser(YamlErrors errors)
    {
        IReadOnlyList<string> _languages = Languages.All;
        public Dictionary<string, Question> Questions { get; init; } = new(StringComparer.Ordinal);
        /// <summary>Questions with errors of their own: rules naming them are not reported again.</summary>
        readonly HashSet<string> _broken = new(StringComparer.Ordinal);

        public SurveyDefinition? Survey(YamlNode rootNode)
        {
            var root = YamlMapReader.Of(rootNode, errors, "the survey file");
            if (root is null) return null;

            var format = root.String("format");
            if (format is not null && format != Format)
                errors.Add(root.Get("format")!, $"this file's format is '{format}'; Foresight reads '{Format}'");

            var id = root.String("id", required: true);
            if (id is not null && !SurveyIdPattern().IsMatch(id))
                errors.Add(root.Get("id")!, $"survey id '{id}' must be 2-64 lower-case letters, digits or hyphens, starting with a letter or digit");

            var languages = root.StringList("languages");
            if (root.Has("languages"))
            {
                if (languages.Count == 0) errors.Add(root.Get("languages") ?? root.Node, "'languages' must list at least one of zh-CN, en");
                foreach (var l in languages.Where(l => !Languages.All.Contains(l)))
                    errors.Add(root.Get("languages")!, $"language '{l}' is not supported; use zh-CN and/or en");
                if (languages.Distinct().Count() != languages.Count) errors.Add(root.Get("languages")!, "'languages' lists a language twice");
                _languages = languages.Where(Languages.All.Contains).Distinct().ToList();
                if (_languages.Count == 0) _languages = Languages.All;
            }

            var title = Text(root, "title", "the survey", required: true);
            var description = Text(root, "description", "the survey");

            var profile = root.Seq("profile").Select((n, i) => ProfileQuestion(n, i)).OfType<ProfileQuestion>().ToList();
            Unique(profile.Select(p => p.Id), root.Get("profile"), "profile question id");

            var questions = new List<Question>();
            var questionNodes = root.Seq("questions", required: true);
            if (root.Has("questions") && questionNodes.Count == 0) errors.Add(root.Get("questions") ?? root.Node,
                "'questions' must list at least one question");
            foreach (var node in questionNodes)
            {
                var q = Question(node);
                if (q is null)
                {
                    if (node is YamlMappingNode m && m.Children.TryGetValue(new YamlScalarNode("id"), out var idNode)
                        && idNode is YamlScalarNode { Value: { } brokenId })
                        _broken.Add(brokenId);
                    continue;
                }
                if (!Questions.TryAdd(q.Id, q)) { errors.Add(node, $"question id '{q.Id}' is used twice"); continue; }
                questions.Add(q);
            }
            if (questions.Count(q => q.Role == QuestionRole.Familiarity) > 1)
                errors.Add(root.Get("questions")!, "only one question may have role: familiarity");

            var rankings = root.Seq("rankings").Select(Ranking).OfType<Ranking>().ToList();
            foreach (var r in rankings.Where(r => Questions.ContainsKey(r.Id)))
                errors.Add(root.Get("rankings")!, $"ranking id '{r.Id}' is already a question id");
            Unique(rankings.Select(r => r.Id), root.Get("rankings"), "ranking id");

            var consensusNode = root.Get("consensus", required: true);
            var rules = consensusNode is null ? null : Rules(consensusNode);

            var feedback = Feedback(root.Get("feedback"), profile);
            var index = KeyTechnologies(root.Get("key_technologies"));
            var live = Live(root.Get("live"));

            var fieldNodes = root.Seq("fields", required: true);
            if (root.Has("fields") && fieldNodes.Count == 0) errors.Add(root.Get("fields") ?? root.Node, "'fields' must list at least one field");
            var fields = fieldNodes.Select(Field).OfType<FieldDefinition>().ToList();
            CheckUnique(fieldNodes, "code", "field code");
            var topicCodes = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var fieldNode in fieldNodes.OfType<YamlMappingNode>())
            {
                if (!fieldNode.Children.TryGetValue(new YamlScalarNode("topics"), out var topics) || topics is not YamlSequenceNode seq) continue;
                foreach (var t in seq.Children.OfType<YamlMappingNode>())
                    if (t.Children.TryGetValue(new YamlScalarNode("code"), out var c) && c is YamlScalarNode cs && cs.Value is { } code)
                        if (!topicCodes.TryAdd(code, c))
                            errors.Add(
                                c, $"topic code '{code}' is used twice (first at line {topicCodes[code].Start.Line}); topic codes are unique in a survey");
            }

            root.RejectUnknownKeys();
            if (id is null || title is null || rules is null || errors.List.Count > 0) return null;
            return new SurveyDefinition
            {
                Id = id,
                Title = title,
                Description = description,
                Languages = _languages,
                Profile = profile,
                Questions = questions,
                Rankings = rankings,
                Consensus = rules,
                Feedback = feedback,
                Live = live,
                KeyTechnologyIndex = index,
                Fields = fields,
            };
        }

        void Unique(IEnumerable<string> ids, YamlNode? at, string what)
        {
            foreach (var g in ids.GroupBy(x => x).Where(g => g.Count() > 1))
                errors.Add(at ?? new YamlScalarNode(), $"{what} '{g.Key}' is used twice");
        }

        void CheckUnique(IEnumerable<YamlNode> nodes, string key, string what)
        {
            var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var n in nodes.OfType<YamlMappingNode>())
                if (n.Children.TryGetValue(new YamlScalarNode(key), out var c) && c is YamlScalarNode s && s.Value is { } v && !seen.TryAdd(v, c))
                    errors.Add(c, $"{what} '{v}' is used twice (first at line {seen[v].Start.Line})");
        }

        LocalizedText? Text(YamlMapReader map, string key, string owner, bool required = false)
        {
            var node = map.Get(key, required);
            return node is null ? null : Text(node, $"'{key}' of {owner}");
        }

        LocalizedText? Text(YamlNode node, string what)
        {
            if (node is YamlScalarNode s)
            {
                if (_languages.Count == 1 && !string.IsNullOrWhiteSpace(s.Value))
                    return _languages[0] == Languages.Chinese ? new LocalizedText(s.Value, null) : new LocalizedText(null, s.Value);
                errors.Add(node, $"{what} must give the text in each of the survey's languages, as a mapping like {{zh-CN: ..., en: ...}}");
                return null;
            }
            var map = YamlMapReader.Of(node, errors, what);
            if (map is null) return null;
            string? zh = null, en = null;
            foreach (var lang in _languages)
            {
                var value = map.String(lang);
                if (string.IsNullOrWhiteSpace(value)) { errors.Add(
                    node, $"{what} has no {(lang == Languages.Chinese ? "Chinese (zh-CN)" : "English (en)")} text"); continue; }
                if (lang == Languages.Chinese) zh = value.Trim(); else en = value.Trim();
            }
            foreach (var other in Languages.All.Except(_languages)) map.String(other); // allowed, ignored
            map.RejectUnknownKeys();
            return zh is null && en is null ? null : new LocalizedText(zh, en);
        }

        string? Code(YamlMapReader map, string key, Regex pattern, string what, string rule)
        {
            var value = map.String(key, required: true);
            if (value is not null && !pattern.IsMatch(value))
            {
                errors.Add(map.Get(key)!, $"{what} '{value}' {rule}");
                return null;
            }
            return value;
        }

        FieldDefinition? Field(YamlNode node)
        {
            var map = YamlMapReader.Of(node, errors, "a field");
            if (map is null) return null;
            var code = Code(map, "code", CodePattern(), "field code", "must be 1-32 letters, digits, '-' or '_'");
            var what = code is null ? "a field" : $"field {code}";
            var name = Text(map, "name", what, required: true);
            var description = Text(map, "description", what);
            var topicNodes = map.Seq("topics", required: true);
            if (map.Has("topics") && topicNodes.Count == 0) errors.Add(map.Get("topics") ?? node, $"{what} has no topics");
            var topics = topicNodes.Select(Topic).OfType<TopicDefinition>().ToList();
            map.RejectUnknownKeys();
            return code is null || name is null ? null : new FieldDefinition(code, name, description, topics);
        }

        static readonly string[] Origins = ["coordinator", "expert", "machine"];

        TopicDefinition? Topic(YamlNode node)
        {
            var map = YamlMapReader.Of(node, errors, "a topic");
            if (map is null) return null;
            var code = Code(map, "code", CodePattern(), "topic code", "must be 1-32 letters, digits, '-' or '_' (no dots: answers are named topic.question)");
            var what = code is null ? "a topic" : $"topic {code}";
            var title = Text(map, "title", what, required: true);
            var background = Text(map, "background", what);
            var tags = map.StringList("tags");
            var origin = map.String("origin") ?? "coordinator";
            if (!Origins.Contains(origin)) errors.Add(map.Get("origin")!, $"origin of {what} must be one of {string.Join(", ", Origins)}, not '{origin}'");
            map.RejectUnknownKeys();
            return code is null || title is null ? null : new TopicDefinition(code, title, background, tags, origin);
        }

        static readonly Dictionary<string, QuestionKind> Kinds = new()
        {
            ["ordinal"] = QuestionKind.Ordinal,
            ["rating"] = QuestionKind.Rating,
            ["year"] = QuestionKind.Year,
            ["choice"] = QuestionKind.Choice,
            ["multi_choice"] = QuestionKind.MultiChoice,
            ["text"] = QuestionKind.Text,
        };

        static readonly string[] KindSpecificKeys = ["options", "min", "max", "anchors", "method", "periods", "max_selections", "max_length", "feedback"];

        static readonly Dictionary<string, RationaleRule> RationaleRules = new()
        {
            ["none"] = RationaleRule.None,
            ["optional"] = RationaleRule.Optional,
            ["outside_iqr"] = RationaleRule.OutsideIqr,
            ["always"] = RationaleRule.Always,
        };

        Question? Question(YamlNode node)
        {
            var map = YamlMapReader.Of(node, errors, "a question");
            if (map is null) return null;
            var id = Code(map, "id", QuestionIdPattern(), "question id", "must start with a lower-case letter and hold only a-z, 0-9 and '_' (at most 40)");
            var what = id is null ? "a question" : $"question '{id}'";
            int errorsBefore = errors.List.Count;

            var kindText = map.String("kind", required: true);
            QuestionKind kind = QuestionKind.Text;
            if (kindText is not null && !Kinds.TryGetValue(kindText, out kind))
                errors.Add(map.Get("kind")!, $"kind of {what} must be one of {string.Join(", ", Kinds.Keys)}, not '{kindText}'");
            bool kindOk = kindText is not null && Kinds.ContainsKey(kindText);

            if (!kindOk)
                foreach (var key in KindSpecificKeys) map.Get(key); // judged once the kind is right

            var text = Text(map, "text", what, required: true);
            var help = Text(map, "help", what);
            var roleText = map.String("role");
            var role = QuestionRole.None;
            if (roleText == "familiarity") role = QuestionRole.Familiarity;
            else if (roleText is not null) errors.Add(map.Get("role")!, $"role of {what} can only be 'familiarity', not '{roleText}'");
            if (role == QuestionRole.Familiarity && kindOk && kind != QuestionKind.Ordinal)
                errors.Add(map.Get("role")!, $"{what} has role familiarity and must be of kind ordinal");

            bool required = map.Bool("required") ?? role == QuestionRole.Familiarity;
            var rounds = Rounds(map, what);

            var options = new List<Option>();
            if (kindOk && kind is QuestionKind.Ordinal or QuestionKind.Choice or QuestionKind.MultiChoice)
            {
                var optionNodes = map.Seq("options", required: true);
                if (map.Has("options") && optionNodes.Count < 2) errors.Add(map.Get("options") ?? node, $"{what} needs at least two options");
                foreach (var o in optionNodes)
                    if (Option(o, what, kind, role) is { } option) options.Add(option);
                CheckUnique(optionNodes, "code", $"option code of {what}");
                if (kind == QuestionKind.Ordinal && options.All(o => o.Value is not null) && options.Select(o => o.Value).Distinct().Count() != options.Count)
                    errors.Add(map.Get("options")!, $"the options of ordinal {what} must have different values");
            }

            int? min = null, max = null;
            var anchors = new Dictionary<int, LocalizedText>();
            string? method = null;
            if (kindOk && kind == QuestionKind.Rating)
            {
                min = map.Int("min", required: true, min: -100, max: 100);
                max = map.Int("max", required: true, min: -100, max: 100);
                if (min is not null && max is not null && max <= min)
                    errors.Add(map.Get("max")!, $"max of {what} must be greater than min");
                method = map.String("method");
                if (method is not null && method != "rand_ucla")
                    errors.Add(map.Get("method")!, $"method of {what} can only be rand_ucla, not '{method}'");
                if (method == "rand_ucla" && (min != 1 || max != 9))
                    errors.Add(map.Get("method")!, $"{what} uses the RAND/UCLA method, whose scale runs from 1 to 9");
                if (map.Get("anchors") is { } anchorNode)
                {
                    if (YamlMapReader.Of(anchorNode, errors, $"anchors of {what}") is { } am)
                    {
                        foreach (var (k, v) in ((YamlMappingNode)anchorNode).Children)
                        {
                            var key = (k as YamlScalarNode)?.Value;
                            if (!int.TryParse(key, out var point) || min is null || max is null || point < min || point > max)
                                { errors.Add(k, $"anchor '{key}' of {what} must be a point of the scale"); continue; }
                            if (Text(v, $"anchor {point} of {what}") is { } t) anchors[point] = t;
                        }
                    }
                }
            }
            if (kindOk && kind == QuestionKind.Year)
            {
                var periods = map.Seq("periods");
                if (periods.Count > 0)
                {
                    foreach (var p in periods)
                        if (Period(p, what) is { } option) options.Add(option);
                    CheckUnique(periods, "code", $"period code of {what}");
                    if (map.Has("min") || map.Has("max")) errors.Add(map.Get("periods")!, $"{what} gives periods, so it takes no min or max");
                }
                else
                {
                    min = map.Int("min", required: true, min: 1900, max: 2300);
                    max = map.Int("max", required: true, min: 1900, max: 2300);
                    if (min is not null && max is not null && max <= min) errors.Add(map.Get("max")!, $"max of {what} must be after min");
                }
            }

            int? maxSelections = null;
            if (kindOk && kind == QuestionKind.MultiChoice)
            {
                maxSelections = map.Int("max_selections", min: 1, max: 100);
                if (maxSelections > options.Count && options.Count > 0)
                    errors.Add(map.Get("max_selections")!, $"max_selections of {what} is more than its {options.Count} options");
            }

            int maxLength = 2000;
            bool showInFeedback = false;
            if (kindOk && kind == QuestionKind.Text)
            {
                maxLength = map.Int("max_length", min: 1, max: 20000) ?? 2000;
                showInFeedback = map.Bool("feedback") ?? false;
            }

            bool allowDontKnow = map.Bool("allow_dont_know") ?? false;
            if (allowDontKnow && kindOk && kind is QuestionKind.MultiChoice or QuestionKind.Text)
                errors.Add(map.Get("allow_dont_know")!, $"{what} is of kind {kindText}; only ordinal, rating, year and choice questions take allow_dont_know");
            bool allowNever = map.Bool("allow_never") ?? false;
            if (allowNever && kindOk && kind != QuestionKind.Year)
                errors.Add(map.Get("allow_never")!, $"only year questions take allow_never; {what} is of kind {kindText}");

            var agree = new List<double>();
            if (map.Get("agree") is { } agreeNode)
            {
                if (!kindOk || kind is not (QuestionKind.Ordinal or QuestionKind.Rating))
                    errors.Add(agreeNode, $"only ordinal and rating questions take 'agree'; {what} is of kind {kindText}");
                else foreach (var code in map.StringList("agree"))
                {
                    if (kind == QuestionKind.Ordinal)
                    {
                        var o = options.FirstOrDefault(o => o.Code == code);
                        if (o?.Value is { } v) agree.Add(v);
                        else errors.Add(agreeNode, $"'agree' of {what} names '{code}', which is not one of its option codes");
                    }
                    else if (int.TryParse(code, out var point) && point >= min && point <= max) agree.Add(point);
                    else errors.Add(agreeNode, $"'agree' of {what} names '{code}', which is not a point of its {min}-{max} scale");
                }
            }

            var rationaleText = map.String("rationale");
            var rationale = RationaleRule.None;
            if (rationaleText is not null && !RationaleRules.TryGetValue(rationaleText, out rationale))
                errors.Add(map.Get("rationale")!, $"rationale of {what} must be one of {string.Join(", ", RationaleRules.Keys)}, not '{rationaleText}'");
            if (rationale == RationaleRule.OutsideIqr && kindOk && kind is not (QuestionKind.Ordinal or QuestionKind.Rating or QuestionKind.Year))
                errors.Add(map.Get("rationale")!, $"rationale: outside_iqr needs a numeric question; {what} is of kind {kindText}");

            Condition? when = null;
            if (map.Get("when") is { } whenNode && YamlMapReader.Of(whenNode, errors, $"'when' of {what}") is { } wm)
            {
                var other = wm.String("question", required: true);
                var codes = wm.StringList("in");
                if (!wm.Has("in") || codes.Count == 0) errors.Add(whenNode, $"'when' of {what} needs 'in', a list of option codes");
                wm.RejectUnknownKeys();
                if (other is not null)
                {
                    if (!Questions.TryGetValue(other, out var target))
                        errors.Add(whenNode, $"'when' of {what} refers to question '{other}', which is not defined before it");
                    else if (target.Kind is not (QuestionKind.Ordinal or QuestionKind.Choice))
                        errors.Add(whenNode, $"'when' of {what} refers to '{other}', which is not an ordinal or choice question");
                    else foreach (var c in codes.Where(c => target.OptionByCode(c) is null))
                        errors.Add(whenNode, $"'when' of {what}: '{c}' is not an option of '{other}'");
                    when = new Condition(other, codes);
                }
            }

            var notBefore = map.String("not_before");
            if (notBefore is not null)
            {
                if (!kindOk || kind != QuestionKind.Year) errors.Add(map.Get("not_before")!, $"only year questions take not_before");
                else if (!Questions.TryGetValue(notBefore, out var earlier) || earlier.Kind != QuestionKind.Year)
                    errors.Add(map.Get("not_before")!, $"not_before of {what} must name a year question defined before it; '{notBefore}' is not one");
            }

            map.RejectUnknownKeys();
            if (id is null || text is null || !kindOk || errors.List.Count > errorsBefore) return null;
            return new Question
            {
                Id = id, Kind = kind, Text = text, Help = help, Role = role, Required = required,
                Options = options, Min = min, Max = max, Anchors = anchors, Method = method,
                MaxSelections = kind == QuestionKind.MultiChoice ? maxSelections ?? options.Count : null,
                MaxLength = maxLength, AllowDontKnow = allowDontKnow, AllowNever = allowNever, Agree = agree,
                Rounds = rounds, When = when, NotBefore = notBefore, Rationale = rationale, ShowInFeedback = showInFeedback,
            };
        }

        IReadOnlyList<int> Rounds(YamlMapReader map, string what)
        {
            var result = new List<int>();
            foreach (var r in map.Seq("rounds"))
            {
                if (r is YamlScalarNode s && int.TryParse(s.Value, out var n) && n >= 1 && n <= 20) result.Add(n);
                else errors.Add(r, $"rounds of {what} must be round numbers from 1 to 20");
            }
            return result;
        }

        Option? Option(YamlNode node, string owner, QuestionKind kind, QuestionRole role)
        {
            var map = YamlMapReader.Of(node, errors, $"an option of {owner}");
            if (map is null) return null;
            var code = Code(map, "code", OptionCodePattern(), "option code", "must be 1-32 letters, digits, '_', '+' or '-'");
            var what = code is null ? $"an option of {owner}" : $"option '{code}' of {owner}";
            var label = Text(map, "label", what, required: true);
            var help = Text(map, "help", what);
            double? value = map.Number("value");
            if (kind == QuestionKind.Ordinal && value is null)
            {
                if (YamlMapReader.TryNumber(code, out var numeric)) value = numeric;
                else if (code is not null) errors.Add(node, $"{what} needs a numeric 'value': the options of an ordinal question are ordered by value");
            }
            if (kind != QuestionKind.Ordinal && map.Has("value")) errors.Add(map.Get("value")!, $"only ordinal options take a value; {owner} is not ordinal");
            double? weight = map.Number("weight", min: 0, max: 1000);
            if (weight is not null && role != QuestionRole.Familiarity)
                errors.Add(map.Get("weight")!, $"only the options of the familiarity question take a weight");
            bool skips = map.Bool("skips_topic") ?? false;
            if (skips && role != QuestionRole.Familiarity)
                errors.Add(map.Get("skips_topic")!, $"only the options of the familiarity question can skip the topic");
            map.RejectUnknownKeys();
            return code is null || label is null ? null : new Option(code, label, kind == QuestionKind.Ordinal ? value : null, weight, skips, help);
        }

        Option? Period(YamlNode node, string owner)
        {
            var map = YamlMapReader.Of(node, errors, $"a period of {owner}");
            if (map is null) return null;
            var code = Code(map, "code", OptionCodePattern(), "period code", "must be 1-32 letters, digits, '_', '+' or '-'");
            var what = code is null ? $"a period of {owner}" : $"period '{code}' of {owner}";
            var label = Text(map, "label", what, required: true);
            var midpoint = map.Number("midpoint", required: true, min: 1900, max: 2300);
            map.RejectUnknownKeys();
            return code is null || label is null || midpoint is null ? null : new Option(code, label, midpoint, null, false, null);
        }

        Ranking? Ranking(YamlNode node)
        {
            var map = YamlMapReader.Of(node, errors, "a ranking");
            if (map is null) return null;
            var id = Code(map, "id", QuestionIdPattern(), "ranking id", "must start with a lower-case letter and hold only a-z, 0-9 and '_'");
            var what = id is null ? "a ranking" : $"ranking '{id}'";
            var text = Text(map, "text", what, required: true);
            var scopeText = map.String("scope") ?? "field";
            var scope = scopeText switch { "field" => RankingScope.Field, "survey" => RankingScope.Survey, _ => (RankingScope?)null };
            if (scope is null) errors.Add(map.Get("scope")!, $"scope of {what} must be field or survey, not '{scopeText}'");
            var rounds = Rounds(map, what);
            map.RejectUnknownKeys();
            return id is null || text is null || scope is null ? null : new Ranking(id, text, scope.Value, rounds);
        }

        static readonly Dictionary<string, ProfileRole> ProfileRoles = new()
        {
            ["org_type"] = ProfileRole.OrgType,
            ["region"] = ProfileRole.Region,
            ["work"] = ProfileRole.Work,
            ["other"] = ProfileRole.Other,
        };

        ProfileQuestion? ProfileQuestion(YamlNode node, int index)
        {
            var map = YamlMapReader.Of(node, errors, "a profile question");
            if (map is null) return null;
            var id = Code(map, "id", QuestionIdPattern(), "profile question id", "must start with a lower-case letter and hold only a-z, 0-9 and '_'");
            var what = id is null ? "a profile question" : $"profile question '{id}'";
            var roleText = map.String("role") ?? "other";
            if (!ProfileRoles.TryGetValue(roleText, out var role))
                errors.Add(map.Get("role")!, $"role of {what} must be one of {string.Join(", ", ProfileRoles.Keys)}, not '{roleText}'");
            var text = Text(map, "text", what, required: true);
            var optionNodes = map.Seq("options", required: true);
            if (map.Has("options") && optionNodes.Count < 2) errors.Add(map.Get("options") ?? node, $"{what} needs at least two options");
            var options = optionNodes.Select(o => Option(o, what, QuestionKind.Choice, QuestionRole.None)).OfType<Option>().ToList();
            CheckUnique(optionNodes, "code", $"option code of {what}");
            bool required = map.Bool("required") ?? false;
            map.RejectUnknownKeys();
            return id is null || text is null ? null : new ProfileQuestion(id, role, text, options, required);
        }

        static readonly Dictionary<string, RetireWhen> RetireRules = new()
        {
            ["consensus"] = RetireWhen.Consensus,
            ["stable"] = RetireWhen.Stable,
            ["consensus_or_stable"] = RetireWhen.ConsensusOrStable,
            ["consensus_and_stable"] = RetireWhen.ConsensusAndStable,
        };

        public ConsensusRules? Rules(YamlNode node)
        {
            var map = YamlMapReader.Of(node, errors, "'consensus'");
            if (map is null) return null;
            int before = errors.List.Count;
            var minN = map.Int("min_n", min: 1, max: 100000) ?? 5;

            var criteria = new List<QuestionCriterion>();
            var questionsNode = map.Get("questions", required: true);
            if (questionsNode is not null && YamlMapReader.Of(questionsNode, errors, "'questions' of 'consensus'") is not null)
            {
                foreach (var (k, v) in ((YamlMappingNode)questionsNode).Children)
                {
                    var qid = (k as YamlScalarNode)?.Value ?? "";
                    if (_broken.Contains(qid)) continue;
                    if (!Questions.TryGetValue(qid,
                        out var q)) { errors.Add(k, $"the consensus rules name question '{qid}', which the survey does not have"); continue; }
                    if (!q.IsNumeric) { errors.Add(
                        k, $"the consensus rules name '{qid}', a {q.Kind.ToString().ToLowerInvariant()} question; only ordinal, rating and year questions " +
                        "are judged"); continue; }
                    var c = YamlMapReader.Of(v, errors, $"the rule for '{qid}'");
                    if (c is null) continue;
                    var criterion = new QuestionCriterion(qid,
                        c.Number("iqr_max", min: 0),
                        c.Number("agree_min_pct", min: 0, max: 100),
                        c.Number("sd_max", min: 0),
                        c.Number("cv_max", min: 0));
                    if (criterion.AgreeMinPct is not null && q.Agree.Count == 0)
                        errors.Add(v, $"the rule for '{qid}' uses agree_min_pct, but question '{qid}' does not say which answers count as agreement ('agree')");
                    if (criterion is { IqrMax: null, AgreeMinPct: null, SdMax: null, CvMax: null })
                        errors.Add(v, $"the rule for '{qid}' states no criterion; use iqr_max, agree_min_pct, sd_max or cv_max");
                    c.RejectUnknownKeys();
                    criteria.Add(criterion);
                }
                if (((YamlMappingNode)questionsNode).Children.Count == 0) errors.Add(questionsNode,
                    "the consensus rules judge no question; name at least one under 'questions'");
            }

            double maxChanged = 15; double? alpha = 0.05;
            if (map.Get("stability") is { } sNode && YamlMapReader.Of(sNode, errors, "'stability'") is { } s)
            {
                maxChanged = s.Number("max_pct_changed", min: 0, max: 100) ?? maxChanged;
                if (s.Has("wilcoxon_alpha")) alpha = s.Get("wilcoxon_alpha") is null ? null : s.Number("wilcoxon_alpha", min: 0, max: 1);
                s.RejectUnknownKeys();
            }
            double camp = 100.0 / 3.0;
            if (map.Get("polarization") is { } pNode && YamlMapReader.Of(pNode, errors, "'polarization'") is { } p)
            {
                camp = p.Number("min_camp_pct", min: 1, max: 50) ?? camp;
                p.RejectUnknownKeys();
            }
            var retire = RetireWhen.Consensus; int maxRounds = 3; double settled = 80;
            if (map.Get("stop") is { } stopNode && YamlMapReader.Of(stopNode, errors, "'stop'") is { } st)
            {
                var rw = st.String("retire_when");
                if (rw is not null && !RetireRules.TryGetValue(rw, out retire))
                    errors.Add(st.Get("retire_when")!, $"retire_when must be one of {string.Join(", ", RetireRules.Keys)}, not '{rw}'");
                maxRounds = st.Int("max_rounds", min: 1, max: 20) ?? maxRounds;
                settled = st.Number("settled_pct", min: 0, max: 100) ?? settled;
                st.RejectUnknownKeys();
            }
            map.RejectUnknownKeys();
            if (errors.List.Count > before) return null;
            return new ConsensusRules
            {
                MinN = minN, Criteria = criteria, StabilityMaxPctChanged = maxChanged, StabilityWilcoxonAlpha = alpha,
                MinCampPct = camp, RetireWhen = retire, MaxRounds = maxRounds, SettledPct = settled,
            };
        }

        FeedbackSettings Feedback(YamlNode? node, IReadOnlyList<ProfileQuestion> profile)
        {
            if (node is null || YamlMapReader.Of(node, errors, "'feedback'") is not { } map) return new();
            ProfileRole? byGroup = null;
            var g = map.String("by_group");
            if (g is not null)
            {
                if (!ProfileRoles.TryGetValue(g, out var role) || role == ProfileRole.Other)
                    errors.Add(map.Get("by_group")!, $"by_group must be org_type, region or work, not '{g}'");
                else if (profile.All(p => p.Role != role))
                    errors.Add(map.Get("by_group")!, $"feedback is split by {g}, but no profile question has role {g}");
                else byGroup = role;
            }
            var min = map.Int("min_group_size", min: 1, max: 1000) ?? 5;
            map.RejectUnknownKeys();
            return new FeedbackSettings { ByGroup = byGroup, MinGroupSize = min };
        }

        IReadOnlyList<string> KeyTechnologies(YamlNode? node)
        {
            if (node is null || YamlMapReader.Of(node, errors, "'key_technologies'") is not { } map) return [];
            var index = map.StringList("index");
            foreach (var id in index)
                if (!Questions.TryGetValue(id, out var q) || q.Kind is not (QuestionKind.Ordinal or QuestionKind.Rating))
                    errors.Add(map.Get("index")!, $"key_technologies index names '{id}', which is not an ordinal or rating question of the survey");
            map.RejectUnknownKeys();
            return index;
        }

        LiveSettings Live(YamlNode? node)
        {
            if (node is null || YamlMapReader.Of(node, errors, "'live'") is not { } map) return new();
            var rt = map.Bool("real_time") ?? false;
            var k = map.Int("min_answers", min: 1, max: 1000) ?? 5;
            var viewText = map.String("stakeholders") ?? "none";
            var view = viewText switch { "none" => StakeholderView.None, "progress" => StakeholderView.Progress, "consensus" => StakeholderView.Consensus, _
                => (StakeholderView?)null };
            if (view is null) errors.Add(map.Get("stakeholders")!, $"'stakeholders' of 'live' must be none, progress or consensus, not '{viewText}'");
            map.RejectUnknownKeys();
            return new LiveSettings { RealTime = rt, MinAnswers = k, Stakeholders = view ?? StakeholderView.None };
        }
    }
}
