"""Grounding: an answer's passages must hold what the question specifically names and asks, not only its topic."""

from __future__ import annotations

import pytest

from assistant.grounding import Grounding, Quoted, counts, is_mentioned
from assistant.questions import CorpusFacts, counted_noun, named_constraints, read_question


@pytest.fixture(scope="module")
def facts(corpus) -> CorpusFacts:
    return CorpusFacts.collect(corpus.passages)


def constraint_texts(question: str, facts: CorpusFacts) -> list[str]:
    return [c.text for c in read_question(question, facts).constraints]


def test_rare_names_unheld_sessions_and_years_are_constraints(facts):
    assert constraint_texts("Who won the election for Committee Chair at the thirtieth session?", facts) == [
        "thirtieth session"
    ]
    assert constraint_texts("What did Mr. Heenan say about Zimbabwe's accession in 2024?", facts) == [
        "Heenan",
        "Zimbabwe",
        "2024",
    ]
    # a hyphenated pair is two names; 'Committee', 'Convention' and 'UN' are the corpus's own topic, not claims
    assert constraint_texts("Under the Greece-Bangladesh agreement, what did the UN Committee say?", facts) == [
        "Greece",
        "Bangladesh",
    ]
    # a held record's session filters the search instead
    assert constraint_texts("What happened at the thirty-ninth session?", facts) == []


def test_years_spanning_the_records_are_not_a_constraint(facts):
    assert constraint_texts("How have the treaty body Chairs' proposals been reported from 2013 to 2025?", facts) == []


def test_a_numbered_instrument_is_a_constraint_unless_it_is_a_topic_of_the_corpus(facts):
    assert constraint_texts("What did resolution 23/20 say, and what did general comment No. 6 say?", facts) == [
        "23/20"
    ]


def test_a_name_in_another_form_is_known(facts):
    assert facts.knows_word("Azerbaijani") and facts.knows_word("Bangladeshis")
    assert not facts.knows_word("Brazilian")


def test_an_acronym_may_be_met_spelt_out(facts):
    (cerd,) = named_constraints(
        "What has the Committee done with CERD?", "What has the Committee done with CERD?", facts
    )
    assert ("cerd",) in cerd.alternatives
    assert any("racial" in group for group in cerd.alternatives)


def test_a_passage_meets_a_name_in_another_form_or_through_its_speaker(corpus, facts):
    grounding = Grounding(facts, corpus.passages)
    flynn = next(p for p in corpus.passages if p.label == "CMW/C/SR.506, para. 24")  # speaker carried over
    (name,) = read_question("What did the Global Detention Project's speaker say?", facts).constraints[:1]
    assert grounding.meets(flynn, name)
    assert is_mentioned("european", frozenset({"europe"}))
    assert is_mentioned("moroccan", frozenset({"morocco"}))
    assert is_mentioned("bangladeshis", frozenset({"bangladesh"}))
    assert not is_mentioned("peru", frozenset({"perspective"}))


@pytest.mark.parametrize(
    ("question", "noun"),
    [
        ("How many written submissions did the Committee receive?", "submissions"),
        ("How many States parties does the Convention have?", "states"),
        ("In 2022, how many people in the US were placed on alternatives to detention?", "people"),
        ("How many guiding principles and objectives are there?", "principles"),
        ("How many of them spoke?", None),
        ("What did Mexico say?", None),
    ],
)
def test_what_a_how_many_question_counts(question, noun):
    assert counted_noun(question) == noun


def test_a_number_counts_a_noun_only_next_to_it_and_not_as_a_reference():
    assert counts("As at 21 February 2025, there were 60 States Parties to the Convention.", "states")
    assert counts("Migrant workers constitute around 169 million of the total", "workers")
    assert not counts("Submissions should not exceed 5,000 words and should be received by 12 September", "submissions")
    assert not counts("Submissions on general comment No. 6 are welcome.", "submissions")


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("Who was elected Chair of the Committee at its thirtieth session?", "thirtieth session"),
        ("What did Mr. Heenan say about Zimbabwe?", "Zimbabwe"),
        ("How many participants attended the 590th meeting?", "how many participants"),
        ("Which countries voted against the Global Compact for Migration?", "names the States"),
        ("How much did the half-day general discussion on general comment No. 6 cost?", "an amount of money"),
        ("What share of migrant workers are covered by social security, according to the records?", "proportion"),
        ("What was the vote on the General Assembly resolution that endorsed the Global Compact?", "how the vote went"),
        ("Which Committee member was country rapporteur for the report of the Niger?", "names the person"),
        # general comment No. 5 is cited once, for what it says on detention; not No. 6, which is a topic
        ("Which topics did general comment No. 5 of the Committee cover?", "No. 5"),
    ],
)
def test_near_misses_abstain_and_say_what_is_missing(assistant, question, reason):
    answer = assistant.ask(question)
    assert answer.abstained, answer.answer
    assert reason in answer.answer
    assert answer.related


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Under the Greece-Bangladesh agreement, how many Bangladeshis can get seasonal worker visas?", "4,000"),
        ("Which countries had constructive dialogues with the Committee at its fortieth session?", "Mexico"),
        ("How many States parties did the Convention have as at 21 February 2025?", "60 States Parties"),
        ("What proportion of UN Member States have ratified the Convention?", "one in four"),
        ("When did the public part of the 232nd meeting end?", "12.40 p.m."),
    ],
)
def test_grounded_questions_are_still_answered(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert fact in answer.answer


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # a month after the last record (17 April 2025), in the same year
        ("Did the Committee adopt the joint general comments in December 2025?", "before December 2025"),
        # a State's government is not an academic from a city of that State (University of Tunis)
        ("What did the Government of Tunisia say at the 506th meeting?", "not recorded as speaking"),
        # an organization the records mention, never as saying anything
        ("What did Amnesty International tell the Committee?", "Amnesty International is not recorded as speaking"),
        # the content of a list of issues, which the records only say was adopted
        ("Which questions did the Committee put to Tajikistan in its list of issues?", "not what they recommend"),
        # the header says no summary record was prepared for the closed part
        ("What was said in the closed part of the 232nd meeting?", "No summary record was prepared"),
    ],
)
def test_rules_catch_what_the_records_cannot_hold(assistant, question, reason):
    answer = assistant.ask(question)
    assert answer.abstained, answer.answer
    assert reason in answer.answer


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # an abbreviation the records never use is no reason to refuse ('GC6', 'NGO')
        ("Our NGO wants to send input on GC6: in which file format, and to which email address?", "ohchr-cmw@un.org"),
        # 'convened' asks for the header's opening line
        ("At what time was the 608th meeting convened?", "3 p.m."),
        # two years in a question that asks for several sources: each may be met by a different passage
        ("In what ways has the European Union come up in the Committee's meetings, in 2013 and in 2022?", "European"),
    ],
)
def test_questions_the_rules_must_not_refuse(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert fact in answer.answer


def test_a_question_about_a_named_speaker_himself_needs_the_state_in_the_quote(assistant):
    # his nationality is never given; what a speaker said about countries is still answered from his words
    assert assistant.ask("Which country is Mr. Corzo Sosa a national of?").abstained
    assert not assistant.ask("Which countries did Mr. Carrión Mena want OHCHR to focus on?").abstained


def test_a_body_reported_as_saying_something_is_answered(assistant):
    # not a speaker, but 'The Office, in turn, had drawn attention to ...' reports what it said
    answer = assistant.ask("How did the International Labour Office respond to the Committee's proposals?")
    assert not answer.abstained, answer.answer
    assert "CMW/C/SR.608" in {c.document for c in answer.citations}


def test_a_quote_is_read_with_the_footnotes_its_passage_calls(assistant):
    answer = assistant.ask("In which year were there more than 280 million migrants worldwide?")
    assert not answer.abstained, answer.answer
    assert "2020" in " ".join(c.text for c in answer.citations) or "fn. 3" in answer.answer


def test_a_budget_question_needs_an_amount(corpus, facts):
    intent = read_question("What was the Committee's budget for 2024?", facts)
    assert intent.answer_type == "money"
    liquidity = next(p for p in corpus.passages if p.label == "CMW/C/SR.590, para. 3")  # the liquidity crisis, no sum
    reason = Grounding(facts, corpus.passages).missing_answer(intent, [Quoted(liquidity, liquidity.text, 1.0)])
    assert reason == "no passage found states an amount of money"
