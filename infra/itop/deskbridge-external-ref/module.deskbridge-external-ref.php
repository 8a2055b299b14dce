<?php
/**
 * deskbridge-external-ref: adds `external_ref` (a string, optional) to Ticket, so that UserRequest and
 * Incident hold the ref of the same ticket in another iTop. The deskbridge iTop pair writes it and
 * searches it (`externalRefField`).
 */
SetupWebPage::AddModule(
	__FILE__,
	'deskbridge-external-ref/1.0.0',
	array(
		'label' => 'deskbridge: external ref on tickets',
		'category' => 'business',
		'dependencies' => array(
			'itop-tickets/2.7.0',
		),
		'mandatory' => false,
		'visible' => true,
		'datamodel' => array(),
		'webservice' => array(),
		'data.struct' => array(),
		'data.sample' => array(),
		'doc.manual_setup' => '',
		'doc.more_information' => '',
		'settings' => array(),
	)
);
