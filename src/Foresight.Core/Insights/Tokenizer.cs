using System.Text;

namespace Foresight.Core.Insights;

/// <summary>A feature of a text: the term counted (a Porter stem, a Chinese bigram) and the word it came from, lower-case.</summary>
public readonly record struct Token(string Term, string Surface);

/// <summary>
/// Splits Chinese and English text into terms.
/// The text is first normalized with Unicode NFKC, so full-width letters, digits and punctuation become half-width.
/// Chinese (Han characters, and Japanese kana): a run of consecutive characters is cut at the Chinese stop words
/// (<see cref="ChineseStopWords"/>, longest first), and each piece becomes its overlapping character bigrams
/// ("能量密度" gives 能量, 量密, 密度); a piece of one character is kept as that character. Bigrams need no
/// dictionary and do about as well as word segmentation for retrieval and clustering.
/// Other scripts: a word is a run of letters and digits; it is lower-cased; words of one character, numbers and
/// <see cref="EnglishStopWords"/> are dropped; words of a-z only are stemmed with <see cref="PorterStemmer"/>.
/// An instance caches stems; it is not thread-safe (use one per thread).
/// </summary>
public sealed class Tokenizer
{
    /// <summary>
    /// English function words, and the boilerplate of abstracts and comments (paper, study, results, method, propose,
    /// based, using, ...) that says nothing about a topic. Compared with the lower-cased word before stemming.
    /// </summary>
    public static readonly IReadOnlySet<string> EnglishStopWords = new HashSet<string>(StringComparer.Ordinal)
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "among", "an", "and", "any", "are", "as", "at",
        "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do", "does",
        "doing", "down", "during", "each", "either", "etc", "few", "for", "from", "further", "furthermore", "had", "has", "have",
        "having", "he", "her", "here", "hers", "him", "his", "how", "however", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "may", "me", "might", "more", "moreover", "most", "must", "my", "neither", "no", "nor", "not", "of", "off", "on",
        "once", "only", "or", "other", "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
        "that", "the", "their", "theirs", "them", "then", "there", "therefore", "these", "they", "this", "those", "through",
        "thus", "to", "too", "under", "until", "up", "upon", "very", "via", "was", "we", "were", "what", "when", "where", "whether",
        "which", "while", "who", "whom", "why", "will", "with", "within", "without", "would", "yet", "you", "your",
        // Abstract and comment boilerplate.
        "paper", "papers", "study", "studies", "studied", "result", "results", "method", "methods", "approach", "approaches",
        "propose", "proposed", "proposes", "present", "presented", "presents", "show", "shows", "shown", "showed",
        "based", "use", "used", "uses", "using", "article", "research", "find", "found", "findings", "think", "believe",
    };

    /// <summary>
    /// Chinese function words and the boilerplate of abstracts and comments. Single characters are only those that
    /// rarely start or end a content word in technical text (的 了 和 与 及 或 是 着 之 也 而); 在 and 等 are not
    /// listed because they occur inside 存在, 潜在 and 等离子体.
    /// </summary>
    public static IReadOnlySet<string> ChineseStopWords => ChineseStop;

    static readonly HashSet<string> ChineseStop = new(StringComparer.Ordinal)
    {
        "的", "了", "和", "与", "及", "或", "是", "着", "之", "也", "而",
        "我们", "他们", "本文", "一个", "一种", "以及", "进行", "通过", "这些", "那些", "这个", "那个", "其中", "已经", "可以",
        "因为", "所以", "但是", "如果", "由于", "对于", "关于", "基于", "认为", "我认为", "没有", "研究", "方法", "提出", "结果",
        "表明", "利用", "采用",
    };

    static readonly int LongestChineseStopWord = ChineseStop.Max(w => w.Length);
    static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> ChineseStopLookup = ChineseStop.GetAlternateLookup<ReadOnlySpan<char>>();

    readonly Dictionary<string, string> stems = new(StringComparer.Ordinal);

    /// <summary>Han ideographs (basic, extension A, compatibility) and Japanese kana.</summary>
    public static bool IsCjk(char c) =>
        c is >= '\u4E00' and <= '\u9FFF' or >= '\u3400' and <= '\u4DBF' or >= '\uF900' and <= '\uFAFF' or >= '\u3040' and <= '\u30FF';

    /// <summary>The terms of a text, in order.</summary>
    public List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        Tokenize(text, tokens);
        return tokens;
    }

    /// <summary>Appends the terms of a text to a list.</summary>
    public void Tokenize(string text, List<Token> tokens)
    {
        if (string.IsNullOrEmpty(text)) return;
        var s = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (IsCjk(c))
            {
                int start = i;
                while (i < s.Length && IsCjk(s[i])) i++;
                AddCjkRun(s.AsSpan(start, i - start), tokens);
            }
            else if (char.IsLetterOrDigit(c))
            {
                int start = i;
                while (i < s.Length && char.IsLetterOrDigit(s[i]) && !IsCjk(s[i])) i++;
                AddWord(s.AsSpan(start, i - start), tokens);
            }
            else i++;
        }
    }

    void AddWord(ReadOnlySpan<char> span, List<Token> tokens)
    {
        if (span.Length < 2) return;
        bool allDigits = true;
        foreach (var ch in span) if (!char.IsDigit(ch)) { allDigits = false; break; }
        if (allDigits) return;
        var word = span.ToString().ToLowerInvariant();
        if (EnglishStopWords.Contains(word)) return;
        if (!stems.TryGetValue(word, out var stem))
        {
            if (stems.Count > 200_000) stems.Clear();
            stem = PorterStemmer.Stem(word);
            stems[word] = stem;
        }
        tokens.Add(new Token(stem, word));
    }

    void AddCjkRun(ReadOnlySpan<char> run, List<Token> tokens)
    {
        int pieceStart = 0, i = 0;
        while (i < run.Length)
        {
            int stop = StopWordAt(run, i);
            if (stop == 0) { i++; continue; }
            AddPiece(run[pieceStart..i], tokens);
            i += stop;
            pieceStart = i;
        }
        AddPiece(run[pieceStart..], tokens);
    }

    /// <summary>The length of the longest Chinese stop word starting at run[i], or 0.</summary>
    static int StopWordAt(ReadOnlySpan<char> run, int i)
    {
        for (int len = Math.Min(LongestChineseStopWord, run.Length - i); len >= 1; len--)
            if (ChineseStopLookup.Contains(run.Slice(i, len))) return len;
        return 0;
    }

    static void AddPiece(ReadOnlySpan<char> piece, List<Token> tokens)
    {
        if (piece.Length == 1) { var u = piece.ToString(); tokens.Add(new Token(u, u)); return; }
        for (int j = 0; j + 1 < piece.Length; j++)
        {
            var bigram = piece.Slice(j, 2).ToString();
            tokens.Add(new Token(bigram, bigram));
        }
    }
}
