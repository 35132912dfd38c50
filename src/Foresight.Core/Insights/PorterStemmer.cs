namespace Foresight.Core.Insights;

/// <summary>
/// M. F. Porter's suffix-stripping algorithm as published (Program 14(3), 1980, 130-137), steps 1a to 5b, for
/// lower-case a-z words. Where the paper and Porter's later C implementation differ, this follows the paper
/// (step 2 has ABLI -> ABLE, not BLI -> BLE, and no LOGI -> LOG). As in Porter's own implementation, words of one or
/// two letters are left alone. Anything that is not all a-z is returned unchanged.
/// </summary>
public static class PorterStemmer
{
    public static string Stem(string word)
    {
        if (word.Length <= 2) return word;
        foreach (var c in word) if (c < 'a' || c > 'z') return word;
        var w = new Word(word);
        w.Step1a(); w.Step1b(); w.Step1c(); w.Step2(); w.Step3(); w.Step4(); w.Step5a(); w.Step5b();
        return w.ToString();
    }

    /// <summary>The word being stemmed: a buffer and its current length.</summary>
    sealed class Word(string s)
    {
        readonly char[] b = s.ToCharArray();
        int k = s.Length; // current length

        public override string ToString() => new(b, 0, k);

        // A consonant is a letter other than a, e, i, o, u, and other than y preceded by a consonant.
        bool Consonant(int i) => b[i] switch
        {
            'a' or 'e' or 'i' or 'o' or 'u' => false,
            'y' => i == 0 || !Consonant(i - 1),
            _ => true,
        };

        /// <summary>m: the number of VC sequences in b[0..j), the word written [C](VC)^m[V].</summary>
        int Measure(int j)
        {
            int m = 0, i = 0;
            while (i < j && Consonant(i)) i++;
            while (i < j)
            {
                while (i < j && !Consonant(i)) i++;
                if (i >= j) break;
                while (i < j && Consonant(i)) i++;
                m++;
            }
            return m;
        }

        bool HasVowel(int j)
        {
            for (int i = 0; i < j; i++) if (!Consonant(i)) return true;
            return false;
        }

        /// <summary>*d: b[0..j) ends with a double consonant.</summary>
        bool DoubleConsonant(int j) => j >= 2 && b[j - 1] == b[j - 2] && Consonant(j - 1);

        /// <summary>*o: b[0..j) ends consonant-vowel-consonant, the last consonant not w, x or y.</summary>
        bool Cvc(int j) => j >= 3 && Consonant(j - 3) && !Consonant(j - 2) && Consonant(j - 1) && b[j - 1] is not ('w' or 'x' or 'y');

        bool EndsWith(string suffix)
        {
            if (suffix.Length > k) return false;
            for (int i = 0; i < suffix.Length; i++) if (b[k - suffix.Length + i] != suffix[i]) return false;
            return true;
        }

        void Replace(int suffixLength, string with)
        {
            k -= suffixLength;
            foreach (var c in with) b[k++] = c; // fits: step 1b adds at most one letter after removing two or three
        }

        public void Step1a()
        {
            if (EndsWith("sses")) Replace(4, "ss");
            else if (EndsWith("ies")) Replace(3, "i");
            else if (EndsWith("ss")) { }
            else if (EndsWith("s")) Replace(1, "");
        }

        public void Step1b()
        {
            if (EndsWith("eed"))
            {
                if (Measure(k - 3) > 0) Replace(3, "ee");
                return;
            }
            int len = EndsWith("ed") ? 2 : EndsWith("ing") ? 3 : 0;
            if (len == 0 || !HasVowel(k - len)) return;
            Replace(len, "");
            if (EndsWith("at")) Replace(2, "ate");
            else if (EndsWith("bl")) Replace(2, "ble");
            else if (EndsWith("iz")) Replace(2, "ize");
            else if (DoubleConsonant(k) && b[k - 1] is not ('l' or 's' or 'z')) k--;
            else if (Measure(k) == 1 && Cvc(k)) Replace(0, "e");
        }

        public void Step1c()
        {
            if (EndsWith("y") && HasVowel(k - 1)) b[k - 1] = 'i';
        }

        static readonly (string Suffix, string With)[] Step2Rules =
        [
            ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("abli", "able"),
            ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
            ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
            ("iviti", "ive"), ("biliti", "ble"),
        ];

        static readonly (string Suffix, string With)[] Step3Rules =
        [
            ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""),
        ];

        static readonly string[] Step2Suffixes = Step2Rules.Select(r => r.Suffix).ToArray();
        static readonly string[] Step3Suffixes = Step3Rules.Select(r => r.Suffix).ToArray();

        static readonly string[] Step4Suffixes =
            ["al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize"];

        /// <summary>The longest listed suffix the word ends with (-1 for none): only that rule is tried, whether or not its condition holds.</summary>
        int Longest(string[] suffixes)
        {
            int best = -1;
            for (int i = 0; i < suffixes.Length; i++)
                if (EndsWith(suffixes[i]) && (best < 0 || suffixes[i].Length > suffixes[best].Length)) best = i;
            return best;
        }

        void ApplyRules((string Suffix, string With)[] rules, string[] suffixes)
        {
            int r = Longest(suffixes);
            if (r < 0) return;
            var (suffix, with) = rules[r];
            if (Measure(k - suffix.Length) > 0) Replace(suffix.Length, with);
        }

        public void Step2() => ApplyRules(Step2Rules, Step2Suffixes);

        public void Step3() => ApplyRules(Step3Rules, Step3Suffixes);

        public void Step4()
        {
            int r = Longest(Step4Suffixes);
            if (r < 0) return;
            var suffix = Step4Suffixes[r];
            int stem = k - suffix.Length;
            if (suffix == "ion" && (stem == 0 || b[stem - 1] is not ('s' or 't'))) return;
            if (Measure(stem) > 1) k = stem;
        }

        public void Step5a()
        {
            if (!EndsWith("e")) return;
            int m = Measure(k - 1);
            if (m > 1 || m == 1 && !Cvc(k - 1)) k--;
        }

        public void Step5b()
        {
            if (Measure(k) > 1 && DoubleConsonant(k) && b[k - 1] == 'l') k--;
        }
    }
}
