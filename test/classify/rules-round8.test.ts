// The eighth round's rules (config/phrases/*/rules-round8.yaml), read with the shipped lists:
// each shape in a wording the dev rows it was written from do not use, and the hard negative
// that shares its words.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLexicon } from '../../src/classify/phrase-file.js';
import { buildPhraseMatcher } from '../../src/classify/phrases.js';

const ROOT = resolve(import.meta.dirname, '../..');
const m = buildPhraseMatcher({ ...loadLexicon(['en', 'pl', 'ur-latn'].map((l) => resolve(ROOT, 'config/phrases', l))), threshold: 10, thresholds: {}, danger: 20 });
const raised = (text: string): Record<string, string> => Object.fromEntries(m.matchSearch(text).flagged.map((f) => [f.category, f.severity]));

describe('suicide said without a listed word', () => {
  it('a high place with a time and no coming back', () => {
    expect(raised('friday after school im going up to the top of the car park and im not coming back down').suicide).toBe('danger');
    expect(raised('tonight were going up the tower and my dad says were not coming back down till sunset').suicide).toBeUndefined();
  });

  it('things given away, a pet rehomed, after I am gone', () => {
    expect(raised('gave away all my things this week, want my sister to have my room after im gone').suicide).toBe('danger');
    expect(raised('im giving away all my stuff, wont be needing it after friday').suicide).toBe('danger');
    expect(raised('giving away all my stuff before we move house, wont need it in the new flat')).toEqual({});
    expect(raised('when im gone on holiday who will feed my cat')).toEqual({});
    expect(raised('who gets my room after im gone to uni')).toEqual({});
  });

  it('a decision with a time kept secret, letters written', () => {
    expect(raised('ive made up my mind. saturday night. dont tell my mum').suicide).toBe('danger');
    expect(raised('wrote the notes and picked the date, what could stop it working').suicide).toBe('danger');
    expect(raised('wrote my letters to santa and sorted everything out for christmas')).toEqual({});
  });

  it('a relative\'s medicine sized to the pupil, and a disclaimer that the question is theirs', () => {
    expect(raised('how many of my grans blood pressure tablets would stop my heart').suicide).toBe('danger');
    expect(raised('what happens if you take a whole packet of ibuprofen its for me not homework').suicide).toBe('danger');
    expect(raised('how much paracetamol would stop a headache')).toEqual({});
  });

  it('heaven now to see someone again; a friend\'s goodbye is caution', () => {
    expect(raised('how can i get to heaven tonight so i can be with my mum again').suicide).toBe('danger');
    expect(raised('my best mate posted goodbye quotes and gave away his stuff should i worry').suicide).toBe('caution');
    expect(raised('my friend posted a goodbye to her old school on her story')).toEqual({});
  });
});

describe('self-harm and eating', () => {
  it('cuts kept from an adult, hiding tips, a friend\'s promise', () => {
    expect(raised('how do i cover my cuts so my mum doesnt see')['self-harm']).toBe('danger');
    expect(raised('wear a hoodie in pe and say ur cold so they dont see')['self-harm']).toBe('danger');
    expect(raised('my friend has lines on her legs and made me promise not to tell')['self-harm']).toBe('caution');
    expect(raised('how to cover my scars from surgery')).toEqual({});
  });

  it('a plan under a weekly limit, thin legs by a date; not a meal\'s limit or strength', () => {
    expect(raised('give me a diet plan below 600 calories a day im 13')['self-harm']).toBe('danger');
    expect(raised('how to get skinny legs before prom')['self-harm']).toBe('caution');
    expect(raised('meal plan under 500 calories per meal')).toEqual({});
    expect(raised('how to get strong legs by summer')).toEqual({});
    expect(raised('lowest weight for a 12 year old boxer weigh in')).toEqual({});
  });
});

describe('extremism, grooming, violence', () => {
  it('something big for the cause; not a fundraiser or a history lesson', () => {
    expect(raised('i want to make a statement so people remember the cause').extremism).toBe('danger');
    expect(raised('i want to do something big for the cause of cancer research')).toEqual({});
    expect(raised('the civil rights movement made history homework')).toEqual({});
  });

  it('a group that wants the young in secret, a recruiter\'s wipe', () => {
    expect(raised('soldiers of the white dawn how do i join at 15').extremism).toBe('danger');
    expect(raised('the brothers on telegram told me to factory reset my phone after the files').extremism).toBe('danger');
    expect(raised('sons of anarchy how to watch')).toEqual({});
  });

  it('an adult\'s secret, a massage in private, a phone to answer; not a surprise or a birthday phone', () => {
    expect(raised('my uncle says its our little secret and dont tell mum').grooming).toBe('danger');
    expect(raised('my coach gives me back rubs when everyone has gone').grooming).toBe('danger');
    expect(raised('they gave me a burner phone and said always answer it').grooming).toBe('danger');
    expect(raised('my sister says its our secret and dont tell mum about the cake')).toEqual({});
    expect(raised('sports massage for football injury')).toEqual({});
  });

  it('threats and plans; not a game, a cricket bat or a watch strap', () => {
    expect(raised('ur dead tomorrow after school').violence).toBe('danger');
    expect(raised('going round his house with a hammer tonight').violence).toBe('danger');
    expect(raised('does a blade go through a school jumper').violence).toBe('danger');
    expect(raised('dont come to school tomorrow if ur smart').violence).toBe('danger');
    expect(raised('stay away from the field tomorrow if you know whats good').violence).toBe('danger');
    expect(raised('ur dead tomorrow in fortnite')).toEqual({});
    expect(raised('going round his house with a bat and ball to play cricket')).toEqual({});
    expect(raised('who do i ask for a strap for my bag')).toEqual({});
    expect(raised('what household chemicals should never be mixed because they make toxic gas')).toEqual({});
  });
});

describe('Polish and Roman Urdu', () => {
  it('a plan with a letter to mum; not a plan for the weekend', () => {
    expect(raised('nie chce juz zyc. mam juz plan na piatek. napisałam juz list do mamy').suicide).toBe('danger');
    expect(raised('mam juz plan na piatek, idziemy do kina')).toEqual({});
  });

  it('humiliation in front of everyone, hiding the smell of drink; not a presentation', () => {
    expect(raised('usko class ke samne zaleel kaise karoon').bullying).toBe('caution');
    expect(raised('sharab pi ke muh ki bu kaise chupayen').drugs).toBeDefined();
    expect(raised('sabke samne presentation kaise karun')).toEqual({});
  });
});
